import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryControlStore, InMemoryResultBackend, InMemoryScheduleStore, InMemoryWorkflowStore } from '../../lib/adapters/memory/index.js';
import { Schedules } from '../../lib/core/beat/schedule-spec.js';
import { StemScheduler } from '../../lib/core/beat/stem-scheduler.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { type ServedDashboard, serveDashboard } from './dashboard-http-fixture.js';

const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend();
const scheduleStore = new InMemoryScheduleStore();
const workflowStore = new InMemoryWorkflowStore();
const scheduler = new StemScheduler({ store: scheduleStore });
let dashboard: ServedDashboard;
let url: string;

beforeAll(async () => {
  dashboard = await serveDashboard('/schedules', { broker, backend, controlStore: new InMemoryControlStore(), scheduleStore, workflowStore });
  url = dashboard.url;
});
afterAll(async () => {
  await dashboard.close();
  await broker.close();
});

const act = (action: string, body: Record<string, string>) => dashboard.act(action, body);

describe('dashboard schedule and workflow actions', () => {
  it('disables, enables and runs a schedule entry now', async () => {
    const id = uniqueName('digest');
    const queue = uniqueName('digests');
    await scheduler.add({ id, task: 'digest.send', args: { to: 'team' }, options: { queue }, schedule: Schedules.every('1h') });
    expect(await (await fetch(`${url}/schedules`)).text()).toContain(id);
    expect((await act('schedule-disable', { id })).status).toBe(200);
    expect((await scheduler.get(id))?.enabled).toBe(false);
    expect((await act('schedule-enable', { id })).status).toBe(200);
    expect((await scheduler.get(id))?.enabled).toBe(true);
    const run = await act('schedule-run', { id });
    expect(run.status).toBe(200);
    expect(await broker.pendingCount(queue)).toBe(1);
    const taskId = /as task (\S+)\./.exec(String(run.json.message))![1]!;
    expect((await backend.get(taskId))?.state).toBe('queued');
  });

  it('shows a run with its checkpoints, rewinds it after a dry run, and cancels it', async () => {
    const run = await workflowStore.createRun({ workflow: 'order.checkout', params: { cart: 2 } });
    await workflowStore.saveStep(run.id, 'reserve#0', { ok: true });
    await workflowStore.saveStep(run.id, 'charge#0', { paid: 20 });
    const page = await (await fetch(`${url}/workflows/${run.id}`)).text();
    expect(page).toContain('charge#0');
    const dry = await act('workflow-rewind', { run: run.id, step: 'reserve', dryRun: 'true' });
    expect(dry.json).toMatchObject({ count: 2, preview: ['reserve#0', 'charge#0'] });
    expect(await workflowStore.listSteps(run.id)).toHaveLength(2);
    expect((await act('workflow-rewind', { run: run.id, step: 'charge', dryRun: 'false' })).json).toMatchObject({ ok: true, count: 1 });
    expect((await workflowStore.listSteps(run.id)).map((s) => s.name)).toEqual(['reserve#0']);
    expect((await act('workflow-cancel', { run: run.id })).status).toBe(200);
    expect((await workflowStore.get(run.id))?.status).toBe('cancelled');
    const again = await act('workflow-cancel', { run: run.id });
    expect(again.status).toBe(409);
    expect(String(again.json.error)).toContain('already ended');
    expect((await dashboard.handler.audit.list(10)).map((e) => `${e.action}:${e.ok}`)).toEqual(
      expect.arrayContaining(['workflow-cancel:true', 'workflow-cancel:false', 'workflow-rewind:true']),
    );
  });
});
