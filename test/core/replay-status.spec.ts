import { afterAll, describe, expect, it } from 'vitest';
import { PostgresBroker, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { type Broker, type ResultBackend, SimpleTaskRegistry, Stem, StemMeta, Worker } from '../../lib/core/index.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { isolatedPostgresUrl, postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';

const prefix = uniquePrefix('replay-status');
const pg = isolatedPostgresUrl('stem_replay_status');
const stores = [
  {
    name: 'Redis',
    available: await redisAvailable(),
    open: async () => ({ broker: await RedisStreamsBroker.connect(REDIS_URL, { prefix }), backend: await RedisResultBackend.connect(REDIS_URL, { prefix }) }),
    cleanup: () => deleteKeys(REDIS_URL, prefix),
  },
  {
    name: 'Postgres',
    available: await postgresAvailable(),
    open: async () => ({ broker: await PostgresBroker.connect(pg.url), backend: await PostgresResultBackend.connect(pg.url) }),
    cleanup: pg.drop,
  },
];

/** Resolves once `check` holds, polling every 20 ms; throws after `ms`. */
async function until(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The producer's view of `backend`, in which the `queued` write of a dead-letter replay waits
 * until the worker has stored the end of the replayed attempt: the order a fast worker produces.
 */
function replayWritesLast(backend: ResultBackend): ResultBackend {
  return {
    name: backend.name,
    async set(id, update, options) {
      if (update.meta?.[StemMeta.replayedFrom] !== undefined)
        await until(async () => (await backend.get(id))?.state === 'succeeded', `task ${id} to succeed before its replay's queued write`);
      return backend.set(id, update, options);
    },
    touch: (id, touch) => backend.touch(id, touch),
    get: (id) => backend.get(id),
    watch: (id, listener) => backend.watch(id, listener),
    listStatuses: (request) => backend.listStatuses(request),
    expire: (id, ttl) => backend.expire(id, ttl),
    close: async () => undefined,
  };
}

for (const store of stores) {
  describe.runIf(store.available)(`dead-letter replay status on ${store.name}`, () => {
    const closers: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const close of closers.reverse()) await close();
      await store.cleanup();
    });

    it("a worker's succeeded status is never turned back to queued by the replay's own status write", async () => {
      const { broker, backend }: { broker: Broker; backend: ResultBackend } = await store.open();
      closers.push(
        () => broker.close(),
        () => backend.close(),
      );
      const queue = uniqueName('replay');
      const registry = new SimpleTaskRegistry([
        {
          name: 'replay.flaky',
          options: { queue, maxRetries: 0 },
          call: (ctx) => (ctx.attempt === 0 ? Promise.reject(new Error('first attempt fails')) : `ok on attempt ${ctx.attempt}`),
        },
      ]);
      const worker = new Worker({ broker, backend, registry, queues: [queue], concurrency: 1 });
      closers.push(() => worker.close({ mode: 'hard' }));
      await worker.start();
      const producer = new Stem({ broker, backend: replayWritesLast(backend), registry });
      const id = await producer.enqueue('replay.flaky', {});
      expect((await producer.waitForTask(id, { timeout: 10_000 })).status?.state).toBe('failed');
      await until(async () => (await broker.getDeadLetter!(queue, id)) !== null, 'the dead letter');
      const replayed = await producer.replayDeadLetters(queue, { ids: [id] });
      expect(replayed.entries.map((e) => e.envelope.id)).toEqual([id]);
      // NOTE: the replay returned after its queued write, which waited for the worker's succeeded.
      expect(await backend.get(id)).toMatchObject({ state: 'succeeded', attempt: 1, payload: 'ok on attempt 1' });
    });
  });
}
