import { createServer, request, type ClientRequest, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import type { ResultBackend, StatusWatch } from '../../lib/core/contracts/result-backend.js';
import { createDashboardHandler, type DashboardHandler } from '../../lib/dashboard/index.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { until } from './dashboard-app.js';

const broker = new InMemoryBroker();
const real = new InMemoryResultBackend();
/** Closes of each task's watch, counted on the way to the real backend's. */
const closes = new Map<string, number>();
/** Watches held back until the test lets them be established. */
const held = new Map<string, () => void>();
const backend: ResultBackend = {
  name: real.name,
  set: (id, update, options) => real.set(id, update, options),
  touch: (id, touch) => real.touch(id, touch),
  get: (id) => real.get(id),
  listStatuses: (request) => real.listStatuses(request),
  expire: (id, ttl) => real.expire(id, ttl),
  close: () => real.close(),
  async watch(id: string, listener: Parameters<ResultBackend['watch']>[1]): Promise<StatusWatch> {
    if (id.startsWith('held-')) await new Promise<void>((resolve) => held.set(id, resolve));
    const watch = await real.watch(id, listener);
    return {
      close: async () => {
        closes.set(id, (closes.get(id) ?? 0) + 1);
        await watch.close();
      },
    };
  },
};

let server: Server;
let handler: DashboardHandler;
let port: number;

beforeAll(async () => {
  handler = createDashboardHandler({ broker, backend });
  server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  handler.close();
  await new Promise((resolve) => server.close(resolve));
});

/** Opens a task's event stream; resolves with the request once the first bytes (and any `status` event) arrive. */
function stream(id: string, onData: (text: string) => void = () => undefined): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/events?task=${encodeURIComponent(id)}` }, (res) => {
      res.setEncoding('utf8').on('data', (chunk: string) => onData(chunk));
      res.on('error', () => undefined);
      resolve(req);
    });
    req.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(error)));
    req.end();
  });
}

/** Resolves once the server holds no connection: every close event of the streams has been emitted. */
const drained = () => until(() => new Promise<boolean>((resolve) => server.getConnections((_error, n) => resolve(n === 0))), 'the server to hold no connection', 5_000);

describe('dashboard live task stream', () => {
  it('sends the status writes of the task, and closes its watch once when the browser leaves', async () => {
    const id = uniqueName('task');
    let text = '';
    const req = await stream(id, (chunk) => (text += chunk));
    // NOTE: the stream's headers come before its watch is established, so the status is written again until an event arrives.
    await until(async () => {
      await real.set(id, { state: 'running', attempt: 0, name: 'report.build' });
      return text.includes('event: status');
    }, 'a status event');
    expect(text).toContain('"state":"running"');
    req.destroy();
    await until(() => (closes.get(id) ?? 0) > 0, 'the watch to close');
    await drained();
    expect(closes.get(id)).toBe(1);
  });

  it('closes a watch established after the browser left, once', async () => {
    const id = uniqueName('held-task');
    const req = await stream(id);
    await until(() => held.has(id), 'the watch to be asked for');
    req.destroy();
    await drained();
    held.get(id)!();
    await until(() => (closes.get(id) ?? 0) > 0, 'the late watch to close');
    expect(closes.get(id)).toBe(1);
  });
});
