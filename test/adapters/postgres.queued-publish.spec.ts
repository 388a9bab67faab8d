import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresBroker, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import type { TaskStatus } from '../../lib/core/envelope.js';
import { PublishError, PublishOutcomeUnknownError } from '../../lib/core/errors/publish.error.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { uuidv7 } from '../../lib/core/utils/uuid.js';
import { fetchAll, uniqueName } from '../../lib/testing/contract-helpers.js';
import { postgresAvailable } from '../support/services.js';
import { dropSchema, POSTGRES_URL, recordingLogger, statementsDuring, testSchema } from '../postgres/postgres-test-kit.js';

const available = await postgresAvailable();
const schema = testSchema();
const logger = recordingLogger();
const registry = new SimpleTaskRegistry([{ name: 'report.build', call: () => 1 }]);

describe.runIf(available)('Postgres: the queued status is written in the statement that inserts the job', () => {
  let broker: PostgresBroker;
  let backend: PostgresResultBackend;
  /** A backend on a pool of its own (another process would look the same). */
  let elsewhere: PostgresResultBackend;
  let stem: Stem;
  beforeAll(async () => {
    broker = await PostgresBroker.connect(POSTGRES_URL, { schema, logger });
    backend = await PostgresResultBackend.connect(POSTGRES_URL, { schema, logger });
    elsewhere = await PostgresResultBackend.connect(POSTGRES_URL, { schema, logger, pool: { max: 3 } });
    stem = new Stem({ broker, backend, registry });
  });
  afterAll(async () => {
    await broker.close();
    await backend.close();
    await elsewhere.close();
    await dropSchema(schema);
  });

  it('enqueues one task in one statement: the status is queued with its name, queue and meta, and the job is delivered', async () => {
    const queue = uniqueName('q');
    let id = '';
    const sent = await statementsDuring(broker.pool, async () => {
      id = await stem.enqueue('report.build', { n: 1 }, { queue, meta: { tenant: 'acme' } });
    });
    expect(sent).toHaveLength(1);
    expect(await elsewhere.get(id)).toMatchObject({ state: 'queued', attempt: 0, name: 'report.build', queue, meta: { tenant: 'acme' } });
    const consumer = broker.consume({ queues: [queue], consumerName: 'c1' });
    try {
      const [delivery] = await fetchAll(consumer, 1, 5_000);
      expect(delivery!.envelope).toMatchObject({ id, name: 'report.build', args: { n: 1 } });
    } finally {
      await consumer.close();
    }
  });

  it('enqueues a batch over two queues in one statement, every status queued', async () => {
    const [a, b] = [uniqueName('qa'), uniqueName('qb')];
    let ids: string[] = [];
    const sent = await statementsDuring(broker.pool, async () => {
      ids = await stem.enqueueMany(Array.from({ length: 1_200 }, (_, i) => ({ name: 'report.build', args: { i }, options: { queue: i % 2 ? a : b } })));
    });
    expect(sent).toHaveLength(1);
    expect(await broker.pendingCount(a)).toBe(600);
    expect(await broker.pendingCount(b)).toBe(600);
    const page = await elsewhere.listStatuses({ queue: a, state: 'queued', limit: 1_000 });
    expect(page.items).toHaveLength(600);
    expect(new Set(ids).size).toBe(1_200);
  });

  it('stores a batch larger than one statement whole', async () => {
    const queue = uniqueName('q');
    const ids = await stem.enqueueMany(Array.from({ length: 5_100 }, (_, i) => ({ name: 'report.build', args: { i }, options: { queue } })));
    expect(await broker.pendingCount(queue)).toBe(5_100);
    expect(await elsewhere.get(ids[5_099]!)).toMatchObject({ state: 'queued' });
  });

  it('wakes a watch on another pool with the queued status the statement wrote', async () => {
    const id = uuidv7();
    const seen: TaskStatus[] = [];
    let woke!: () => void;
    const first = new Promise<void>((resolve) => (woke = resolve));
    const watch = await elsewhere.watch(id, (status) => {
      seen.push(status);
      woke();
    });
    try {
      await stem.enqueue('report.build', {}, { queue: uniqueName('q'), taskId: id });
      await first;
      expect(seen[0]).toMatchObject({ id, state: 'queued', name: 'report.build' });
    } finally {
      await watch.close();
    }
  });

  it('never turns a terminal status back into queued, even when the terminal write races the enqueue', async () => {
    const queue = uniqueName('q');
    const ids = Array.from({ length: 50 }, () => uuidv7());
    await Promise.all(
      ids.flatMap((id) => [
        elsewhere.set(id, { state: 'succeeded', attempt: 0, payload: 42, name: 'report.build', queue }),
        stem.enqueue('report.build', {}, { queue, taskId: id }),
      ]),
    );
    const after = await Promise.all(ids.map((id) => elsewhere.get(id)));
    expect(after.map((s) => s?.state)).toEqual(ids.map(() => 'succeeded'));
    expect(after.every((s) => s?.payload === 42)).toBe(true);
  });

  it('fails only the enqueue whose status the database refuses; its concurrent neighbours are enqueued', async () => {
    const queue = uniqueName('q');
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => stem.enqueue('report.build', { i }, { queue, meta: i === 4 ? { note: 'nul \u0000 inside' } : { note: 'fine' } })),
    );
    expect(results.map((r) => r.status)).toEqual(results.map((_, i) => (i === 4 ? 'rejected' : 'fulfilled')));
    const error = (results[4] as PromiseRejectedResult).reason as unknown;
    expect(error).toBeInstanceOf(PublishError);
    expect(error).not.toBeInstanceOf(PublishOutcomeUnknownError);
    expect(await broker.pendingCount(queue)).toBe(9);
  });

  it('stores a batch whose args hold U+0000 or a lone surrogate whole: those args are delivered as sent and recorded as truncated, the others recorded', async () => {
    const queue = uniqueName('q');
    const ids = await stem.enqueueMany([
      { name: 'report.build', args: { note: 'nul \u0000 inside' }, options: { queue } },
      { name: 'report.build', args: { note: 'lone \ud800' }, options: { queue, headers: { 'x-note': 'nul \u0000' } } },
      { name: 'report.build', args: { n: 3 }, options: { queue, headers: { 'x-note': 'nul \u0000' } } },
      { name: 'report.build', args: ['a', 1], options: { queue } },
      { name: 'report.build', args: { n: 5 }, options: { queue, priority: 9, meta: { tenant: 'acme' } } },
    ]);
    const recorded = await Promise.all(ids.map((id) => elsewhere.getWithArgs(id)));
    expect(recorded.map((s) => s?.state)).toEqual(ids.map(() => 'queued'));
    expect(recorded.map((s) => s?.argsTruncated)).toEqual([0, 0, undefined, undefined, undefined]);
    expect(recorded.map((s) => s?.args)).toEqual([undefined, undefined, { n: 3 }, ['a', 1], { n: 5 }]);
    expect(recorded[4]).toMatchObject({ meta: { tenant: 'acme' } });
    const consumer = broker.consume({ queues: [queue], consumerName: 'c1' });
    try {
      const deliveries = await fetchAll(consumer, 5, 5_000);
      const byId = new Map(deliveries.map((d) => [d.envelope.id, d.envelope]));
      expect(deliveries[0]!.envelope.id).toBe(ids[4]);
      expect(byId.get(ids[0]!)!.args).toEqual({ note: 'nul \u0000 inside' });
      expect(byId.get(ids[1]!)!.args).toEqual({ note: 'lone \ud800' });
      expect(byId.get(ids[2]!)!.headers['x-note']).toBe('nul \u0000');
    } finally {
      await consumer.close();
    }
  });

  it('a batch keeps each task delay and lease: the delayed one is delivered after its later neighbour, the leased one for its own visibility timeout', async () => {
    const queue = uniqueName('q');
    const [delayed, leased] = await stem.enqueueMany([
      { name: 'report.build', args: {}, options: { queue, delay: 1_500 } },
      { name: 'report.build', args: {}, options: { queue, visibilityTimeout: 120_000.4 } },
    ]);
    const consumer = broker.consume({ queues: [queue], consumerName: 'c1' });
    try {
      const before = Date.now();
      const [first] = await fetchAll(consumer, 1, 5_000);
      expect(first!.envelope.id).toBe(leased);
      expect(first!.leaseExpiresAt - before).toBeGreaterThan(60_000);
      const [second] = await fetchAll(consumer, 1, 5_000);
      expect(second!.envelope.id).toBe(delayed);
    } finally {
      await consumer.close();
    }
  });

  it('writes one status for an id repeated in a batch, the last one in call order, and a job for each', async () => {
    const queue = uniqueName('q');
    const id = uuidv7();
    await stem.enqueueMany([
      { name: 'report.build', args: { n: 1 }, options: { queue, taskId: id, meta: { turn: 'first' } } },
      { name: 'report.build', args: { n: 2 }, options: { queue, taskId: id, meta: { turn: 'last' } } },
    ]);
    expect(await elsewhere.getWithArgs(id)).toMatchObject({ state: 'queued', args: { n: 2 }, meta: { turn: 'last' } });
    expect(await broker.pendingCount(queue)).toBe(2);
  });

  it('keeps the TTL of each coalesced one-by-one enqueue', async () => {
    const queue = uniqueName('q');
    const short = new Stem({ broker, backend, registry, resultTtl: 300 });
    const [kept, expiring] = await Promise.all([stem.enqueue('report.build', {}, { queue }), short.enqueue('report.build', {}, { queue })]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await elsewhere.get(kept)).toMatchObject({ state: 'queued' });
    expect(await elsewhere.get(expiring)).toBeNull();
  });

  it('publishes in two steps when the backend is on another pool', async () => {
    const queue = uniqueName('q');
    const split = new Stem({ broker, backend: elsewhere, registry });
    const id = await split.enqueue('report.build', {}, { queue });
    expect(await backend.get(id)).toMatchObject({ state: 'queued', queue });
    expect(await broker.pendingCount(queue)).toBe(1);
  });
});
