import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { type Clock, systemClock } from '../../lib/core/utils/clock.js';
import { makeEnvelope, uniqueName } from '../../lib/testing/contract-helpers.js';
import { type ServedDashboard, serveDashboard } from './dashboard-http-fixture.js';

/** Every dead letter of this broker is recorded at the same instant, which a time-based selection cannot tell apart. */
const instant = Date.now();
const frozen: Clock = { now: () => instant, setTimeout: systemClock.setTimeout };
const broker = new InMemoryBroker({ clock: frozen });
const backend = new InMemoryResultBackend();
let dashboard: ServedDashboard;

beforeAll(async () => {
  dashboard = await serveDashboard('/', { broker, backend });
});
afterAll(async () => {
  await dashboard.close();
  await broker.close();
});

/** Dead-letters one envelope per [reason, error type]; returns the task ids in order. */
async function deadLetters(queue: string, kinds: readonly [string, string][]): Promise<string[]> {
  const consumer = broker.consume({ queues: [queue], consumerName: 'test' });
  const ids: string[] = [];
  for (const [reason, type] of kinds) {
    const envelope = makeEnvelope(queue);
    ids.push(envelope.id);
    await broker.publish(envelope);
    const [delivery] = await consumer.fetch(1, AbortSignal.timeout(5_000));
    await broker.deadLetter(delivery!, reason, { error: { type, message: `${type} in ${reason}` } });
  }
  await consumer.close();
  return ids;
}

const remaining = async (queue: string) => (await broker.listDeadLetters(queue, { limit: 100 })).items.map((e) => e.envelope.id).sort();

const act = (action: string, body: Record<string, string>) => dashboard.act(action, body);

describe('dashboard dead-letter actions', () => {
  it('purges and replays exactly the dead letter asked for, among others dead at the same instant', async () => {
    const queue = uniqueName('dash-dl-one');
    const [a, b, c] = await deadLetters(queue, [
      ['expired', 'Error'],
      ['expired', 'Error'],
      ['expired', 'Error'],
    ]);
    expect(new Set((await broker.listDeadLetters(queue)).items.map((e) => e.deadAt))).toEqual(new Set([instant]));
    expect((await act('dead-letter-purge', { queue, id: b! })).json).toMatchObject({ ok: true, count: 1 });
    expect(await remaining(queue)).toEqual([a, c].sort());
    expect((await act('dead-letter-replay', { queue, id: c! })).json).toMatchObject({ ok: true, count: 1 });
    expect(await remaining(queue)).toEqual([a]);
    const consumer = broker.consume({ queues: [queue], consumerName: 'check' });
    const [replayed] = await consumer.fetch(10, AbortSignal.timeout(5_000));
    await consumer.close();
    expect(replayed?.envelope).toMatchObject({ id: c, attempt: 1 });
    expect((await backend.get(c!))?.state).toBe('queued');
  });

  it('says so, and changes nothing, when the dead letter is gone', async () => {
    const queue = uniqueName('dash-dl-gone');
    const [a] = await deadLetters(queue, [['expired', 'Error']]);
    for (const action of ['dead-letter-purge', 'dead-letter-replay']) {
      const gone = await act(action, { queue, id: 'no-such-task' });
      expect(gone.status).toBe(409);
      expect(String(gone.json.error)).toContain('has no dead letter of task no-such-task');
    }
    expect(await remaining(queue)).toEqual([a]);
  });

  it('a bulk replay takes only what the reason filter shows, counted by its dry run', async () => {
    const queue = uniqueName('dash-dl-reason');
    const [a, b, c] = await deadLetters(queue, [
      ['expired', 'Error'],
      ['invalid-args', 'ValidationError'],
      ['expired', 'Error'],
    ]);
    const page = await (await fetch(`${dashboard.url}/dead-letters?queue=${queue}&reason=expired`, { headers: { cookie: dashboard.cookie } })).text();
    expect(page).toMatch(/<input type="hidden" name="reason" value="expired" \/>/);
    expect(page).toContain('with reason &quot;expired&quot;');
    const dry = await act('dead-letters-bulk', { queue, op: 'replay', reason: 'expired', limit: '100', dryRun: 'true' });
    expect(dry.json).toMatchObject({ count: 2, preview: [a, c] });
    expect((dry.json.confirm as { fields: Record<string, string> }).fields).toMatchObject({ reason: 'expired', limit: '2', dryRun: 'false' });
    const done = await act('dead-letters-bulk', (dry.json.confirm as { fields: Record<string, string> }).fields);
    expect(done.json).toMatchObject({ ok: true, count: 2 });
    expect(await remaining(queue)).toEqual([b]);
    expect(await broker.pendingCount(queue)).toBe(2);
  });

  it('a bulk purge takes only what the error-type filter shows', async () => {
    const queue = uniqueName('dash-dl-type');
    const [a, b, c, d] = await deadLetters(queue, [
      ['max-retries-exhausted', 'TypeError'],
      ['max-retries-exhausted', 'Error'],
      ['not-retryable', 'TypeError'],
      ['max-retries-exhausted', 'TypeError'],
    ]);
    const dry = await act('dead-letters-bulk', { queue, op: 'purge', reason: 'max-retries-exhausted', errorType: 'TypeError', limit: '100', dryRun: 'true' });
    expect(dry.json).toMatchObject({ count: 2, preview: [a, d] });
    expect((await act('dead-letters-bulk', (dry.json.confirm as { fields: Record<string, string> }).fields)).json).toMatchObject({ ok: true, count: 2 });
    expect(await remaining(queue)).toEqual([b, c].sort());
    expect((await act('dead-letters-bulk', { queue, op: 'purge', errorType: 'TypeError', limit: '100', dryRun: 'false' })).json).toMatchObject({ count: 1 });
    expect(await remaining(queue)).toEqual([b]);
  });
});
