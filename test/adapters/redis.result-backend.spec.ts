import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisResultBackend } from '../../lib/adapters/redis/index.js';
import type { TaskStatus } from '../../lib/core/envelope.js';
import { sleep, uniqueName } from '../../lib/testing/contract-helpers.js';
import { uuidv7 } from '../../lib/core/utils/uuid.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('backend');

describe.runIf(available)('RedisResultBackend specifics', () => {
  let backend: RedisResultBackend;
  let other: RedisResultBackend;
  let raw: Redis;
  beforeAll(async () => {
    backend = await RedisResultBackend.connect(REDIS_URL, { prefix });
    other = await RedisResultBackend.connect(REDIS_URL, { prefix });
    raw = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await backend.close();
    await other.close();
    raw.disconnect();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('several writes of one status in one batch leave it in the index of its last state only, with the TTL of its last write', async () => {
    const queue = uniqueName('coalesced');
    const ids = [uuidv7(), uuidv7()];
    await Promise.all(ids.map((id) => backend.set(id, { state: 'queued', attempt: 0, name: 't', queue })));
    const queued = await backend.get(ids[0]!);
    expect(queued!.createdAt).toBeGreaterThan(0);
    // NOTE: writes issued in one event-loop turn go out as one script call (the backend's batch).
    await Promise.all([
      backend.set(ids[0]!, { state: 'running', attempt: 0, name: 't', queue, meta: { by: 'w1' } }, { ttl: 600_000 }),
      backend.set(ids[1]!, { state: 'running', attempt: 0, name: 't', queue }),
      backend.set(ids[0]!, { state: 'succeeded', attempt: 0, name: 't', queue, payload: 1 }, { ttl: 30_000 }),
    ]);
    expect(await backend.countByState(queue)).toMatchObject({ queued: 0, running: 1, succeeded: 1 });
    expect((await backend.listStatuses({ queue, state: 'running' })).items.map((s) => s.id)).toEqual([ids[1]]);
    expect((await backend.listStatuses({ queue, state: 'succeeded' })).items.map((s) => s.id)).toEqual([ids[0]]);
    expect((await backend.listStatuses({ queue })).items.map((s) => s.id).sort()).toEqual([...ids].sort());
    const done = await backend.get(ids[0]!);
    expect(done).toMatchObject({ state: 'succeeded', payload: 1, meta: { by: 'w1' }, createdAt: queued!.createdAt });
    const ttl = await raw.pttl(`${prefix}:result:{${ids[0]}}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30_000);
    expect((await backend.throughput({ since: Date.now() - 120_000, queue })).reduce((n, b) => n + b.succeeded, 0)).toBe(1);
  });

  it('a watched status written twice in one batch is published twice, in order', async () => {
    const id = uuidv7();
    await backend.set(id, { state: 'queued', attempt: 0, name: 't', queue: 'q' });
    const seen: string[] = [];
    const watch = await other.watch(id, (s) => seen.push(s.state));
    try {
      await Promise.all([backend.set(id, { state: 'running', attempt: 0 }), backend.set(id, { state: 'succeeded', attempt: 0, payload: 2 })]);
      const deadline = Date.now() + 5_000;
      while (!seen.includes('succeeded') && Date.now() < deadline) await sleep(10);
      expect(seen).toEqual(['running', 'succeeded']);
    } finally {
      await watch.close();
    }
  });

  it('publishes a status only while someone watches it', async () => {
    const id = uuidv7();
    const spy = raw.duplicate();
    const published: string[] = [];
    await spy.subscribe(`${prefix}:status:{${id}}`);
    spy.on('message', (_channel: string, message: string) => published.push(message));
    try {
      await backend.set(id, { state: 'queued', attempt: 0 });
      const seen: TaskStatus[] = [];
      const watch = await other.watch(id, (s) => seen.push(s));
      await backend.set(id, { state: 'running', attempt: 0 });
      await sleep(100);
      await watch.close();
      await backend.set(id, { state: 'succeeded', attempt: 0, payload: 1 });
      await sleep(100);
      expect(seen.map((s) => s.state)).toEqual(['running']);
      expect(published).toHaveLength(1);
      expect(await raw.exists(`${prefix}:result:{${id}}:watchers`)).toBe(0);
    } finally {
      spy.disconnect();
    }
  });

  it('keeps name and queue from earlier writes and lists by name within them', async () => {
    const queue = uniqueName('q');
    const id = uuidv7();
    await backend.set(id, { state: 'queued', attempt: 0, name: 'report.build', queue });
    await backend.set(id, { state: 'running', attempt: 0 });
    expect(await backend.get(id)).toMatchObject({ state: 'running', name: 'report.build', queue });
    const page = await backend.listStatuses({ queue, name: 'report.build', state: 'running' });
    expect(page.items.map((s) => s.id)).toEqual([id]);
    expect((await backend.listStatuses({ queue, name: 'other' })).items).toEqual([]);
  });

  it('drops expired statuses from listings and from the index', async () => {
    const queue = uniqueName('q');
    const gone = uuidv7();
    const kept = uuidv7();
    await backend.set(gone, { state: 'succeeded', attempt: 0, queue, name: 't' }, { ttl: 100 });
    await backend.set(kept, { state: 'succeeded', attempt: 0, queue, name: 't' });
    await sleep(250);
    expect((await backend.listStatuses({ queue })).items.map((s) => s.id)).toEqual([kept]);
    expect(await raw.zscore(`${prefix}:{results}:idx:queue:${queue}`, gone)).toBeNull();
    expect(await raw.zscore(`${prefix}:{results}:idx:queue:${queue}`, kept)).not.toBeNull();
  });

  it('lists across queues most recently updated first, including statuses without a queue', async () => {
    const a = uniqueName('qa');
    const b = uniqueName('qb');
    const name = uniqueName('task');
    const ids: string[] = [];
    for (const queue of [a, b, undefined, a, b]) {
      const id = uuidv7();
      ids.push(id);
      await backend.set(id, { state: 'succeeded', attempt: 0, name, ...(queue ? { queue } : {}) });
      await sleep(3);
    }
    const first = await other.listStatuses({ name, limit: 3 });
    expect(first.items.map((s) => s.id)).toEqual([ids[4], ids[3], ids[2]]);
    const rest = await other.listStatuses({ name, limit: 3, offset: first.nextOffset });
    expect(rest.items.map((s) => s.id)).toEqual([ids[1], ids[0]]);
    expect(rest.nextOffset).toBeUndefined();
  });

  it('writes many statuses issued together, each readable with its own fields', async () => {
    const ids = Array.from({ length: 300 }, () => uuidv7());
    await Promise.all(
      ids.map((id, i) =>
        backend.set(id, {
          state: i % 2 ? 'failed' : 'succeeded',
          attempt: i,
          payload: i % 2 ? undefined : { i },
          error: i % 2 ? { type: 'E', message: `m${i}`, retryable: false } : undefined,
          meta: { i },
        }),
      ),
    );
    const statuses = await Promise.all(ids.map((id) => other.get(id)));
    statuses.forEach((s, i) => {
      expect(s).toMatchObject({ id: ids[i], attempt: i, meta: { i } });
      if (i % 2) expect(s).toMatchObject({ state: 'failed', error: { message: `m${i}` } });
      else expect(s).toMatchObject({ state: 'succeeded', payload: { i } });
    });
  });
});

describe.runIf(available)('RedisResultBackend deep pages and short id prefixes', () => {
  const own = uniquePrefix('listing');
  let backend: RedisResultBackend;
  const tag = 'ab';
  const queues = [uniqueName('lq'), uniqueName('lq'), uniqueName('lq')];
  /** Newest first, then by id descending: the order of the listing indexes. */
  const newest = (a: TaskStatus, b: TaskStatus) => b.updatedAt - a.updatedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
  beforeAll(async () => {
    backend = await RedisResultBackend.connect(REDIS_URL, { prefix: own });
    // NOTE: written in rounds issued together, so many statuses share one updatedAt (the score deep pages are found by).
    for (let round = 0; round < 6; round++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => {
          const n = round * 100 + i;
          return backend.set(`${n % 5 === 0 ? 'zz' : tag}-${String(n).padStart(4, '0')}`, {
            state: n % 4 === 0 ? 'failed' : 'succeeded',
            attempt: 0,
            name: 'l.task',
            queue: queues[n % 3],
          });
        }),
      );
      await sleep(3);
    }
  });
  afterAll(async () => {
    await backend.close();
    await deleteKeys(REDIS_URL, own);
  });

  it('a deep page (found by score, not read entry by entry) holds what reading every entry puts there', async () => {
    const all = (await backend.listStatuses({ limit: 1_000 })).items.map((s) => s.id);
    expect(all).toHaveLength(600);
    for (const offset of [201, 350, 549, 590]) {
      const page = await backend.listStatuses({ limit: 50, offset });
      expect(
        page.items.map((s) => s.id),
        `offset ${offset}`,
      ).toEqual(all.slice(offset, offset + 50));
      expect(page.nextOffset, `offset ${offset}`).toBe(offset + 50 < 600 ? offset + 50 : undefined);
    }
    const failed = (await backend.listStatuses({ state: 'failed', limit: 1_000 })).items.map((s) => s.id);
    expect((await backend.listStatuses({ state: 'failed', limit: 20, offset: 120 })).items.map((s) => s.id)).toEqual(failed.slice(120, 140));
    expect((await backend.listStatuses({ limit: 50, offset: 600 })).items).toEqual([]);
  });

  it('an id prefix many ids share is ordered by the listing indexes and read a page at a time', async () => {
    const all = (await backend.listStatuses({ limit: 1_000 })).items.filter((s) => s.id.startsWith(tag)).sort(newest);
    expect(all.length).toBeGreaterThan(200);
    const ids = (page: { items: readonly TaskStatus[] }) => page.items.map((s) => s.id);
    expect(ids(await backend.searchStatuses({ idPrefix: tag, limit: 50 }))).toEqual(ids({ items: all.slice(0, 50) }));
    const deep = await backend.searchStatuses({ idPrefix: tag, limit: 50, offset: 400 });
    expect(ids(deep)).toEqual(ids({ items: all.slice(400, 450) }));
    expect(deep.nextOffset).toBe(all.length > 450 ? 450 : undefined);
    const failedInQueue = all.filter((s) => s.state === 'failed' && s.queue === queues[1]);
    expect(ids(await backend.searchStatuses({ idPrefix: tag, state: 'failed', queue: queues[1], limit: 500 }))).toEqual(ids({ items: failedInQueue }));
  });
});
