import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { Worker } from '../../lib/core/worker/worker.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { redisAvailable } from '../support/services.js';
import { RedisServer, redisCli } from './redis-server.js';

const available = await redisAvailable();

/**
 * Lease of every delivery. A fetch whose reply dies with the server has already leased its
 * entries (the script ran and is in the AOF); nobody holds them, so they run again only once that
 * lease lapses. It must be well inside the test's window for that to be seen.
 */
const LEASE_MS = 2_000;
const WINDOW_MS = 20_000;

describe.runIf(available)('Redis restart under a running worker', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('loses no acknowledged task, runs the ones leased at the kill once their lease lapses, and the worker resumes by itself', async () => {
    const queue = uniqueName('restart');
    const done = new Set<string>();
    const registry = new SimpleTaskRegistry([
      {
        name: 'restart.work',
        call: async (ctx) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          done.add(ctx.id);
          return ctx.id;
        },
      },
    ]);
    const broker = await RedisStreamsBroker.connect(server.url);
    const backend = await RedisResultBackend.connect(server.url);
    // NOTE: the lease comes from the worker's task defaults: the worker passes its own default
    // lease to `consume`, which takes precedence over the broker's `defaultVisibilityTimeout`.
    const worker = new Worker({ broker, backend, registry, queues: [queue], concurrency: 8, defaults: { visibilityTimeout: LEASE_MS } });
    const stem = new Stem({ broker, backend, registry });
    try {
      await worker.start();
      const before = await Promise.all(Array.from({ length: 300 }, (_, i) => stem.enqueue('restart.work', { i }, { queue })));
      while (done.size < 20) await new Promise((resolve) => setTimeout(resolve, 5));
      await server.kill();
      expect(done.size).toBeLessThan(300);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await server.restart();
      const after = await Promise.all(Array.from({ length: 50 }, (_, i) => stem.enqueue('restart.work', { i }, { queue })));

      const ids = [...before, ...after];
      const deadline = Date.now() + WINDOW_MS;
      while (ids.some((id) => !done.has(id)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      const missing = ids.filter((id) => !done.has(id));
      const missingStates = await Promise.all(missing.map(async (id) => `${id}: ${(await backend.get(id))?.state ?? 'no status'}`));
      expect(missingStates, `not run within ${WINDOW_MS} ms (lease ${LEASE_MS} ms); queue ${JSON.stringify(await broker.counts(queue))}`).toEqual([]);
      const statuses = await Promise.all(ids.map((id) => backend.get(id)));
      expect(statuses.filter((s) => s?.state !== 'succeeded').map((s) => `${s?.id}: ${s?.state}`)).toEqual([]);

      // Nothing is left behind: no entry ready, leased or delayed, and none in a stream (pending
      // for the consumer group without a lease, which no fetch would ever reclaim).
      await worker.close();
      expect(await broker.counts(queue)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
      const streams = (await redisCli(server.port, '--scan', '--pattern', `*{${queue}}:stream:*`)).split('\n').filter(Boolean);
      const lengths = await Promise.all(streams.map(async (key) => `${key}: ${(await redisCli(server.port, 'xlen', key)).trim()}`));
      expect(lengths.filter((line) => !line.endsWith(': 0'))).toEqual([]);
    } finally {
      await worker.close();
      await Promise.all([broker.close(), backend.close()]);
    }
  }, 40_000);
});
