import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { RedisResultBackend } from '../../lib/adapters/redis/index.js';
import { runCli } from '../../lib/cli/index.js';
import { makeEnvelope, uniqueName } from '../../lib/testing/contract-helpers.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

describe('stem CLI without a store', () => {
  it('prints usage and exits 2 for no command or an unknown one', async () => {
    const a = capture();
    expect(await runCli([], a.io, {})).toBe(2);
    expect(a.out.join('\n')).toMatch(/Usage: stem <command>/);
    const b = capture();
    expect(await runCli(['frobnicate'], b.io, {})).toBe(2);
    expect(b.err.join('\n')).toMatch(/unknown command "frobnicate"/);
  });

  it('says where the broker URL comes from, and refuses memory://', async () => {
    const a = capture();
    expect(await runCli(['health'], a.io, {})).toBe(1);
    expect(a.err.join('\n')).toMatch(/pass --broker <url> or set STEM_BROKER_URL/);
    const b = capture();
    expect(await runCli(['health', '--broker', 'memory://'], b.io, {})).toBe(1);
    expect(b.err.join('\n')).toMatch(/memory:\/\/ lives inside one process/);
  });
});

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('stem CLI on Redis', () => {
  let broker: RedisStreamsBroker;
  let backend: RedisResultBackend;
  const queue = uniqueName('cli');
  const env = { STEM_BROKER_URL: REDIS_URL };
  const ids: string[] = [];

  beforeAll(async () => {
    broker = await RedisStreamsBroker.connect(REDIS_URL);
    backend = await RedisResultBackend.connect(REDIS_URL);
    const consumer = broker.consume({ queues: [queue], consumerName: 'cli-test' });
    for (let i = 0; i < 120; i++) {
      const env = makeEnvelope(queue, { name: 'cli.task' });
      ids.push(env.id);
      await broker.publish(env);
    }
    let left = 120;
    while (left > 0) {
      const batch = await consumer.fetch(left, AbortSignal.timeout(2_000));
      for (const d of batch) await broker.deadLetter(d, 'max-retries-exhausted', { error: { message: 'boom' } });
      left -= batch.length;
    }
    await consumer.close();
    await backend.set(ids[0]!, { state: 'failed', attempt: 2, name: 'cli.task', queue, error: { type: 'Error', message: 'boom', retryable: false } });
  });

  afterAll(async () => {
    await broker?.purge(queue);
    await broker?.close();
    await backend?.close();
  });

  it('shows a task status', async () => {
    const c = capture();
    expect(await runCli(['status', ids[0]!], c.io, env)).toBe(0);
    expect(c.out.join('\n')).toMatch(/state failed, attempt 2/);
    expect(c.out.join('\n')).toMatch(/error Error: boom/);
    const missing = capture();
    expect(await runCli(['status', 'nope'], missing.io, env)).toBe(1);
  });

  it('lists dead letters and counts them per queue', async () => {
    const list = capture();
    expect(await runCli(['dlq', 'list', '--queue', queue, '--limit', '5', '--json'], list.io, env)).toBe(0);
    const page = JSON.parse(list.out.join('\n'));
    expect(page.items).toHaveLength(5);
    expect(page.items[0].reason).toBe('max-retries-exhausted');
    const q = capture();
    expect(await runCli(['queues', queue], q.io, env)).toBe(0);
    expect(q.out[0]).toBe(`${queue}: 0 ready, 0 in flight, dead letters: 120`);
    const json = capture();
    expect(await runCli(['queues', queue, '--json'], json.io, env)).toBe(0);
    expect(JSON.parse(json.out.join('\n'))).toEqual([{ queue, pending: 0, inflight: 0, deadLetters: 120, deadLettersCapped: false }]);
  });

  it('replay needs --yes, previews with --dry-run, and shows progress while replaying all', async () => {
    const refused = capture();
    expect(await runCli(['dlq', 'replay', '--queue', queue, '--all'], refused.io, env)).toBe(2);
    expect(refused.err.join('\n')).toMatch(/add --yes/);
    const dry = capture();
    expect(await runCli(['dlq', 'replay', '--queue', queue, '--limit', '3', '--dry-run'], dry.io, env)).toBe(0);
    expect(dry.out[0]).toBe(`Would replay 3 dead letter(s) from "${queue}":`);
    const real = capture();
    expect(await runCli(['dlq', 'replay', '--queue', queue, '--all', '--yes'], real.io, env)).toBe(0);
    expect(real.err).toEqual(['replayed 100/120 ...', 'replayed 120/120 ...']);
    expect(real.out).toEqual([`Replayed 120 dead letter(s) from "${queue}".`]);
    expect(await broker.pendingCount(queue)).toBe(120);
  });
});
