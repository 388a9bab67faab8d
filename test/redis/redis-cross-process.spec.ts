import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import type { TaskStatus } from '../../lib/core/envelope.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';
import { FixtureProcess } from './child-process.js';
import { deleteKeys, uniquePrefix } from './redis-test-utils.js';

const available = await redisAvailable();
const prefix = uniquePrefix('xp');

describe.runIf(available)('Redis across processes', () => {
  const processes: FixtureProcess[] = [];
  let redis: Redis;
  const start = (name: string, env: Record<string, string>) => {
    const p = FixtureProcess.start(name, { STEM_REDIS_URL: REDIS_URL, STEM_PREFIX: prefix, ...env });
    processes.push(p);
    return p;
  };

  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteKeys(REDIS_URL, prefix);
  });

  it("a producer process's waitForTask resolves from a worker process's result", async () => {
    const queue = uniqueName('xp');
    const worker = start('worker', { STEM_QUEUE: queue });
    await worker.waitForLine((l) => l === 'ready');
    const producer = start('producer', { STEM_QUEUE: queue, STEM_COUNT: '5' });
    const line = await producer.waitForLine((l) => l.startsWith('{'), 20_000);
    const { results } = JSON.parse(line) as { results: { state: string; value: { sum: number; pid: number }; timedOut: boolean }[] };
    expect(results.map((r) => r.state)).toEqual(Array(5).fill('succeeded'));
    expect(results.map((r) => r.value.sum)).toEqual([100, 101, 102, 103, 104]);
    expect(results.every((r) => !r.timedOut && r.value.pid === worker.pid)).toBe(true);
    expect(await producer.exited).toBe(0);
  }, 40_000);

  it('redelivers the tasks of a SIGKILLed worker to another worker; each succeeds exactly once', async () => {
    const queue = uniqueName('xp');
    const env = { STEM_QUEUE: queue, STEM_LEASE: '2000', STEM_TASK_MS: '1500', STEM_CONCURRENCY: '10' };
    const broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
    const backend = await RedisResultBackend.connect(REDIS_URL, { prefix });
    const succeeded = new Map<string, number>();
    const watches: { close(): Promise<void> }[] = [];
    try {
      const stem = new Stem({ broker, backend, registry: new SimpleTaskRegistry() });
      const first = start('worker', env);
      await first.waitForLine((l) => l === 'ready');
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const id = await stem.enqueue('xp.slow', {}, { queue });
        ids.push(id);
        watches.push(await backend.watch(id, (s: TaskStatus) => s.state === 'succeeded' && succeeded.set(id, (succeeded.get(id) ?? 0) + 1)));
      }
      for (const id of ids) await first.waitForLine((l) => l === `started ${id}`);
      await first.kill('SIGKILL');

      const second = start('worker', env);
      const results = await Promise.all(ids.map((id) => stem.waitForTask<{ pid: number }>(id, { timeout: 15_000 })));
      expect(results.map((r) => r.status?.state)).toEqual(Array(6).fill('succeeded'));
      expect(results.every((r) => r.value?.pid === second.pid)).toBe(true);

      const log = await redis.lrange(`${prefix}:log`, 0, -1);
      for (const id of ids) {
        expect(log.filter((l) => l.startsWith(`start:${id}:`))).toEqual([`start:${id}:${first.pid}`, `start:${id}:${second.pid}`]);
        expect(log.filter((l) => l.startsWith(`done:${id}:`))).toEqual([`done:${id}:${second.pid}`]);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect([...succeeded.values()]).toEqual(Array(6).fill(1));
      expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
      expect((await broker.listDeadLetters(queue)).items).toEqual([]);
    } finally {
      for (const w of watches) await w.close();
      await Promise.all([broker.close(), backend.close()]);
    }
  }, 40_000);
});
