import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend, InMemoryWorkflowStore } from '../../lib/adapters/memory/index.js';
import { createDashboardHandler, type DashboardHandler, type RedactContext } from '../../lib/dashboard/index.js';
import { makeEnvelope, uniqueName } from '../../lib/testing/contract-helpers.js';

/** A value every payload of these tests may carry, and that no page may show. */
const CARD = '4111 1111 1111 1111';
const seen: RedactContext['kind'][] = [];
/** Replaces the card number wherever it is, as a user's redact would. */
const redact = (payload: unknown, context: RedactContext) => {
  seen.push(context.kind);
  return payload === undefined ? undefined : (JSON.parse(JSON.stringify(payload).replaceAll(CARD, '[card]')) as unknown);
};

const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend({ recordArgs: true });
const workflowStore = new InMemoryWorkflowStore();
const queue = uniqueName('dash-redact');
let server: Server;
let handler: DashboardHandler;
let url: string;

beforeAll(async () => {
  handler = createDashboardHandler({ broker, backend, workflowStore }, { redact, queues: [queue] });
  server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  handler.close();
  await new Promise((resolve) => server.close(resolve));
  await broker.close();
});

const page = async (path: string) => {
  const res = await fetch(`${url}${path}`);
  expect(res.status).toBe(200);
  return res.text();
};

describe('dashboard redact', () => {
  it('covers meta and error text of tasks and dead letters', async () => {
    const envelope = makeEnvelope(queue, { name: 'card.charge', args: { orderId: 'o-7', card: CARD } });
    const error = { type: 'Error', message: `card ${CARD} declined`, stack: `Error: card ${CARD} declined\n    at charge`, retryable: false };
    await backend.set(envelope.id, { state: 'failed', attempt: 0, name: 'card.charge', queue, error, meta: { lastCard: CARD }, args: envelope.args });
    await broker.publish(envelope);
    const consumer = broker.consume({ queues: [queue], consumerName: 'test' });
    const [delivery] = await consumer.fetch(1, AbortSignal.timeout(5_000));
    await broker.deadLetter(delivery!, 'max-retries-exhausted', { error });
    await consumer.close();
    const task = await page(`/tasks/${envelope.id}?queue=${queue}`);
    expect(task).toContain('card [card] declined');
    expect(task).toContain('&quot;lastCard&quot;: &quot;[card]&quot;');
    const list = await page(`/dead-letters?queue=${queue}`);
    expect(list).toContain('card [card] declined');
    for (const html of [task, list]) expect(html).not.toContain(CARD);
    expect(seen).toEqual(expect.arrayContaining(['args', 'meta', 'error']));
  });

  it('covers the suspension, error and cancellation of a workflow run', async () => {
    const run = await workflowStore.createRun({ workflow: 'card.checkout', params: { card: CARD } });
    await workflowStore.suspendOnTopic(run.id, 'wait#0', `payments.${CARD}`, { data: { card: CARD } });
    expect(await page(`/workflows/${run.id}`)).not.toContain(CARD);
    const failed = await workflowStore.createRun({ workflow: 'card.checkout', params: {} });
    await workflowStore.markFailed(failed.id, { type: 'Error', message: `no card ${CARD}`, at: Date.now() }, { terminal: true });
    const cancelled = await workflowStore.createRun({ workflow: 'card.checkout', params: {} });
    await workflowStore.cancel(cancelled.id, { reason: `card ${CARD} stolen` });
    for (const id of [failed.id, cancelled.id]) {
      const html = await page(`/workflows/${id}`);
      expect(html).toContain('[card]');
      expect(html).not.toContain(CARD);
    }
    expect(seen).toEqual(expect.arrayContaining(['params', 'suspension', 'error', 'cancellation']));
  });

  it('a search by arguments matches only what the redacted arguments show, so it reveals no hidden value', async () => {
    const id = uniqueName('task');
    await backend.set(id, { state: 'succeeded', attempt: 0, name: 'card.charge', queue, args: { orderId: 'o-8', card: CARD } });
    const search = (args: unknown) => page(`/tasks?args=${encodeURIComponent(JSON.stringify(args))}`);
    expect(await search({ orderId: 'o-8' })).toContain(id);
    expect(await search({ orderId: 'o-8', card: CARD })).not.toContain(id);
  });
});
