import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { Worker } from '../../lib/core/worker/worker.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { redisAvailable } from '../support/services.js';
import { RedisServer } from './redis-server.js';

const available = await redisAvailable();

describe.runIf(available)('Redis restart under a running worker', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('loses no acknowledged task and the worker resumes by itself', async () => {
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
    const broker = await RedisStreamsBroker.connect(server.url, { defaultVisibilityTimeout: 3_000 });
    const backend = await RedisResultBackend.connect(server.url);
    const worker = new Worker({ broker, backend, registry, queues: [queue], concurrency: 8 });
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
      const deadline = Date.now() + 20_000;
      while (ids.some((id) => !done.has(id)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(ids.filter((id) => !done.has(id))).toEqual([]);
      const statuses = await Promise.all(ids.map((id) => backend.get(id)));
      expect(statuses.filter((s) => s?.state !== 'succeeded').map((s) => s?.id)).toEqual([]);
    } finally {
      await worker.close();
      await Promise.all([broker.close(), backend.close()]);
    }
  }, 40_000);
});
