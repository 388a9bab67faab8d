import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryGroupStore, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { Canvas, SimpleTaskRegistry, Stem, task, type TaskHandler, UnrecoverableError, Worker } from '../../lib/core/index.js';
import { createDashboardHandler, type DashboardHandler } from '../../lib/dashboard/index.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';

const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend();
const groupStore = new InMemoryGroupStore();
const queue = uniqueName('dash-groups');
const handlers: TaskHandler[] = [
  { name: 'dash.ok', options: { queue }, call: async () => 'done' },
  {
    name: 'dash.boom',
    options: { queue },
    call: async () => {
      throw new UnrecoverableError('boom');
    },
  },
];
const registry = new SimpleTaskRegistry(handlers);
const worker = new Worker({ broker, backend, groupStore, registry, queues: [queue], concurrency: 2 });
const servers: Server[] = [];
const dashboards: DashboardHandler[] = [];

/** Serves a dashboard over the in-memory stores (with or without the group store) on a free loopback port; returns its URL. */
async function serve(withGroupStore: boolean): Promise<string> {
  const handler = createDashboardHandler({ broker, backend, ...(withGroupStore ? { groupStore } : {}) }, { queues: [queue] });
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  dashboards.push(handler);
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

let url: string;
let plainUrl: string;
let groupId: string;
let taskIds: readonly string[];

beforeAll(async () => {
  await worker.start();
  [url, plainUrl] = await Promise.all([serve(true), serve(false)]);
  const dispatch = await new Canvas(new Stem({ broker, backend, groupStore, registry })).group([task('dash.ok', {}), task('dash.boom', {})]);
  // wait() resolves once the group store holds both members' outcomes.
  const result = await dispatch.wait({ timeout: 5_000 });
  expect(result.isComplete).toBe(true);
  groupId = dispatch.groupId;
  taskIds = dispatch.taskIds;
});
afterAll(async () => {
  for (const h of dashboards) h.close();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await worker.close({ mode: 'hard' });
  await broker.close();
});

const get = async (base: string, path: string) => {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: await res.text() };
};

describe('dashboard group page', () => {
  it("a member's task page links to its group page", async () => {
    const { status, body } = await get(url, `/tasks/${encodeURIComponent(taskIds[0]!)}`);
    expect(status).toBe(200);
    expect(body).toContain(`group <a href="/groups/${encodeURIComponent(groupId)}" data-testid="group-link">${groupId}</a>`);
  });

  it('the group page shows counts and one row per member with its state and a link to its task', async () => {
    const { status, body } = await get(url, `/groups/${encodeURIComponent(groupId)}`);
    expect(status).toBe(200);
    expect(body).toContain('<dd data-field="expected">2</dd>');
    expect(body).toContain('<dd data-field="completed">2</dd>');
    expect(body).toContain('<dd data-field="failed">1</dd>');
    expect(body).toContain('<dd data-field="complete">yes</dd>');
    expect(body).toContain('<dd data-field="chord">not claimed</dd>');
    const row = (index: number) => body.slice(body.indexOf(`<tr data-member="${index}">`)).split('</tr>')[0]!;
    expect(row(0)).toContain('<span class="badge s-succeeded">succeeded</span>');
    expect(row(0)).toContain(`<a href="/tasks/${encodeURIComponent(taskIds[0]!)}">${taskIds[0]}</a>`);
    expect(row(1)).toContain('<span class="badge s-failed">failed</span>');
    expect(row(1)).toContain(`<a href="/tasks/${encodeURIComponent(taskIds[1]!)}">${taskIds[1]}</a>`);
  });

  it('a member slot not finished yet shows as pending', async () => {
    const id = uniqueName('g-pending');
    await groupStore.initGroup(id, 2);
    await groupStore.addResult(id, 1, { taskId: 'member-1', state: 'succeeded', completedAt: Date.now() });
    const { body } = await get(url, `/groups/${id}`);
    expect(body.slice(body.indexOf('<tr data-member="0">')).split('</tr>')[0]).toContain('<span class="badge s-pending">pending</span>');
    expect(body).toContain('<dd data-field="complete">no</dd>');
  });

  it("shows who holds a chord's claim, and that it was dispatched", async () => {
    const id = uniqueName('g-chord');
    await groupStore.initGroup(id, 1);
    expect(await groupStore.claimChord(id, 'callback-1')).toBe(true);
    expect((await get(url, `/groups/${id}`)).body).toMatch(/<dd data-field="chord">claimed by <a href="\/tasks\/callback-1">callback-1<\/a> until <time/);
    await groupStore.markChordDispatched(id, 'callback-1');
    expect((await get(url, `/groups/${id}`)).body).toContain('<dd data-field="chord">dispatched by <a href="/tasks/callback-1">callback-1</a></dd>');
  });

  it('an unknown group id answers 404 with a message, escaped', async () => {
    const { status, body } = await get(url, `/groups/${encodeURIComponent('<nope>')}`);
    expect(status).toBe(404);
    expect(body).toContain('No group &lt;nope&gt; (unknown or expired).');
    expect(body).not.toContain('<nope>');
  });

  it('without a group store the group id is plain text and there is no group page', async () => {
    const { body } = await get(plainUrl, `/tasks/${encodeURIComponent(taskIds[0]!)}`);
    expect(body).toContain(`group ${groupId}`);
    expect(body).not.toContain('/groups/');
    expect((await get(plainUrl, `/groups/${encodeURIComponent(groupId)}`)).status).toBe(404);
  });
});
