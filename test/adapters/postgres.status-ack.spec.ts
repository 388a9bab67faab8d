import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { PostgresBroker, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import type { Delivery } from '../../lib/core/contracts/broker.js';
import type { StatusAck } from '../../lib/core/contracts/status-ack.js';
import type { TaskStatus } from '../../lib/core/envelope.js';
import { StatusNotStorableError } from '../../lib/core/errors/status-not-storable.error.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { Worker } from '../../lib/core/worker/worker.js';
import { fetchAll, uniqueName } from '../../lib/testing/contract-helpers.js';
import { postgresAvailable } from '../support/services.js';
import { until } from '../support/until.js';
import { adminQuery, dropSchema, POSTGRES_URL, recordingLogger, statementsDuring, testSchema } from '../postgres/postgres-test-kit.js';

const available = await postgresAvailable();
const logger = recordingLogger();
const registry = new SimpleTaskRegistry([{ name: 'report.build', call: (_ctx, args: { n: number }) => args.n * 2 }]);

/** A broker and a backend on one pool in a schema of their own, and a backend on a pool of its own (another process would look the same). */
interface Stores {
  readonly schema: string;
  readonly broker: PostgresBroker;
  readonly backend: PostgresResultBackend;
  readonly elsewhere: PostgresResultBackend;
  readonly stem: Stem;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(): Promise<Stores> {
  const schema = testSchema();
  const broker = await PostgresBroker.connect(POSTGRES_URL, { schema, logger });
  const backend = await PostgresResultBackend.connect(POSTGRES_URL, { schema, logger });
  const elsewhere = await PostgresResultBackend.connect(POSTGRES_URL, { schema, logger, pool: { max: 3 } });
  cleanups.push(async () => {
    await broker.close();
    await backend.close();
    await elsewhere.close();
    await dropSchema(schema);
  });
  return { schema, broker, backend, elsewhere, stem: new Stem({ broker, backend, registry }) };
}

/** Enqueues `count` tasks on a fresh queue and claims them with a consumer leasing for `lease` ms. */
async function claim(stores: Stores, count: number, lease = 30_000): Promise<{ queue: string; deliveries: Delivery[] }> {
  const queue = uniqueName('q');
  await stores.stem.enqueueMany(Array.from({ length: count }, (_, n) => ({ name: 'report.build', args: { n }, options: { queue } })));
  const consumer = stores.broker.consume({ queues: [queue], consumerName: 'c1', defaultVisibilityTimeout: lease });
  try {
    const deliveries = await fetchAll(consumer, count, 5_000);
    expect(deliveries).toHaveLength(count);
    return { queue, deliveries };
  } finally {
    await consumer.close();
  }
}

/** The job rows of `queue`, with the consumer holding each. */
async function jobRows(schema: string, queue: string): Promise<{ task_id: string; locked_by: string | null; leased: boolean }[]> {
  const { rows } = await adminQuery<{ task_id: string; locked_by: string | null; leased: boolean }>(
    `SELECT task_id, locked_by, locked_until > now() AS leased FROM "${schema}".jobs WHERE queue = $1 ORDER BY task_id`,
    [queue],
  );
  return rows;
}

function succeeded(delivery: Delivery, meta?: Record<string, unknown>) {
  const { envelope } = delivery;
  return {
    state: 'succeeded' as const,
    attempt: envelope.attempt,
    name: envelope.name,
    queue: envelope.queue,
    payload: (envelope.args as { n: number }).n * 2,
    ...(meta ? { meta } : {}),
  };
}

const isFolded = (text: string) => /INSERT INTO .*\.results[\s\S]*DELETE FROM .*\.jobs/.test(text);
const isPlainAck = (text: string) => /^\s*DELETE FROM .*\.jobs j USING unnest/.test(text);

describe.runIf(available)('Postgres: a success is stored and acked in one statement', () => {
  it('stores succeeded and removes the job row in one statement, readable from another pool', async () => {
    const stores = await open();
    const { queue, deliveries } = await claim(stores, 1);
    const acker = stores.broker.statusAcker(stores.backend)!;
    const sent = await statementsDuring(stores.broker.pool, () => acker.ackWithStatus(deliveries[0]!, succeeded(deliveries[0]!)));
    expect(sent).toHaveLength(1);
    expect(isFolded(sent[0]!)).toBe(true);
    expect(await stores.elsewhere.get(deliveries[0]!.envelope.id)).toMatchObject({ state: 'succeeded', attempt: 0, name: 'report.build', queue, payload: 0 });
    expect(await jobRows(stores.schema, queue)).toEqual([]);
  });

  it('runs 200 tasks on a worker with no ack statement of its own: every status succeeded, no job row left', async () => {
    const stores = await open();
    const queue = uniqueName('q');
    const worker = new Worker({ broker: stores.broker, backend: stores.backend, registry, queues: [queue], concurrency: 20 });
    let done = 0;
    worker.signals.on('task-succeeded', () => void done++);
    let ids: string[] = [];
    const sent = await statementsDuring(stores.broker.pool, async () => {
      await worker.start();
      try {
        ids = await stores.stem.enqueueMany(Array.from({ length: 200 }, (_, n) => ({ name: 'report.build', args: { n }, options: { queue } })));
        await until(() => done === 200, 10_000);
      } finally {
        await worker.close();
      }
    });
    expect(sent.filter(isPlainAck)).toEqual([]);
    expect(sent.filter(isFolded).length).toBeGreaterThan(0);
    const statuses = await Promise.all(ids.map((id) => stores.elsewhere.get(id)));
    expect(statuses.map((s) => [s?.state, s?.payload])).toEqual(ids.map((_, n) => ['succeeded', n * 2]));
    expect(await jobRows(stores.schema, queue)).toEqual([]);
  });

  it('leaves a delivery whose status cannot be stored unacked, and stores and acks the others of its batch', async () => {
    const stores = await open();
    const { queue, deliveries } = await claim(stores, 3);
    const acker = stores.broker.statusAcker(stores.backend)!;
    const [a, bad, c] = deliveries as [Delivery, Delivery, Delivery];
    let settled: PromiseSettledResult<void>[] = [];
    const sent = await statementsDuring(stores.broker.pool, async () => {
      // NOTE: sent in one turn, so the three go out as one batch; jsonb refuses U+0000 in the meta.
      settled = await Promise.allSettled([
        acker.ackWithStatus(a, succeeded(a)),
        acker.ackWithStatus(bad, succeeded(bad, { note: 'nul \u0000 here' })),
        acker.ackWithStatus(c, succeeded(c)),
      ]);
    });
    expect(sent.filter(isFolded)).toHaveLength(4);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(StatusNotStorableError);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ taskId: bad.envelope.id });
    expect(await stores.elsewhere.get(a.envelope.id)).toMatchObject({ state: 'succeeded', payload: 0 });
    expect(await stores.elsewhere.get(bad.envelope.id)).toMatchObject({ state: 'queued' });
    expect(await stores.elsewhere.get(c.envelope.id)).toMatchObject({ state: 'succeeded', payload: 4 });
    expect(await jobRows(stores.schema, queue)).toEqual([{ task_id: bad.envelope.id, locked_by: 'c1', leased: true }]);
  });

  it('stores the status of a delivery whose lease was lost and deletes nothing: the new holder keeps the row', async () => {
    const stores = await open();
    const { queue, deliveries } = await claim(stores, 1, 150);
    const stale = deliveries[0]!;
    const consumer = stores.broker.consume({ queues: [queue], consumerName: 'c2' });
    let current: Delivery;
    try {
      [current] = (await fetchAll(consumer, 1, 5_000)) as [Delivery];
    } finally {
      await consumer.close();
    }
    expect(current.envelope.id).toBe(stale.envelope.id);
    await stores.broker.statusAcker(stores.backend)!.ackWithStatus(stale, succeeded(stale));
    expect(await stores.elsewhere.get(stale.envelope.id)).toMatchObject({ state: 'succeeded', payload: 0 });
    expect(await jobRows(stores.schema, queue)).toEqual([{ task_id: stale.envelope.id, locked_by: 'c2', leased: true }]);
    await stores.broker.ack(current);
    expect(await jobRows(stores.schema, queue)).toEqual([]);
  });

  it('wakes a watcher of another backend instance with the succeeded status', async () => {
    const stores = await open();
    const { deliveries } = await claim(stores, 1);
    const delivery = deliveries[0]!;
    const seen: TaskStatus[] = [];
    const watch = await stores.elsewhere.watch(delivery.envelope.id, (status) => seen.push(status));
    try {
      await stores.broker.statusAcker(stores.backend)!.ackWithStatus(delivery, succeeded(delivery));
      await until(() => seen.some((s) => s.state === 'succeeded'), 5_000);
      expect(seen.at(-1)).toMatchObject({ id: delivery.envelope.id, state: 'succeeded', payload: 0 });
    } finally {
      await watch.close();
    }
  });

  it('keeps each task’s writes in call order: a running write sent just before is stored before succeeded', async () => {
    const stores = await open();
    const { queue, deliveries } = await claim(stores, 200);
    const acker: StatusAck = stores.broker.statusAcker(stores.backend)!;
    const running = (d: Delivery) => stores.backend.set(d.envelope.id, { state: 'running', attempt: 0, name: d.envelope.name, queue });
    const writes: Promise<void>[] = [];
    // NOTE: half in one turn (running and succeeded in one batch); half with succeeded sent while
    // the batch holding its running write is in flight.
    for (const d of deliveries.slice(0, 100)) writes.push(running(d), acker.ackWithStatus(d, succeeded(d)));
    for (const d of deliveries.slice(100)) writes.push(running(d));
    await new Promise((resolve) => setImmediate(resolve));
    for (const d of deliveries.slice(100)) writes.push(acker.ackWithStatus(d, succeeded(d)));
    await Promise.all(writes);
    const statuses = await Promise.all(deliveries.map((d) => stores.elsewhere.get(d.envelope.id)));
    expect(statuses.map((s) => s?.state)).toEqual(deliveries.map(() => 'succeeded'));
    expect(await jobRows(stores.schema, queue)).toEqual([]);
  });

  it('offers no folded acker for a backend in another schema, another database or another store; a worker then acks on its own', async () => {
    const stores = await open();
    const otherSchema = testSchema();
    const otherDatabase = new URL(POSTGRES_URL);
    otherDatabase.pathname = '/postgres';
    const otherDatabaseUrl = otherDatabase.toString();
    const inOtherSchema = await PostgresResultBackend.connect(POSTGRES_URL, { schema: otherSchema, logger });
    cleanups.push(async () => {
      await inOtherSchema.close();
      await dropSchema(otherSchema);
    });
    const inOtherDatabase = await PostgresResultBackend.connect(otherDatabaseUrl, { schema: otherSchema, logger });
    cleanups.push(async () => {
      await inOtherDatabase.close();
      const client = new pg.Client({ connectionString: otherDatabaseUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${otherSchema}" CASCADE`).finally(() => client.end());
    });
    expect(stores.broker.statusAcker(inOtherSchema)).toBeUndefined();
    expect(stores.broker.statusAcker(inOtherDatabase)).toBeUndefined();
    expect(stores.broker.statusAcker(stores.elsewhere)).toBeUndefined();
    expect(stores.broker.statusAcker(new InMemoryResultBackend())).toBeUndefined();

    const queue = uniqueName('q');
    const worker = new Worker({ broker: stores.broker, backend: inOtherSchema, registry, queues: [queue], concurrency: 2 });
    let done = 0;
    worker.signals.on('task-succeeded', () => void done++);
    let id = '';
    const sent = await statementsDuring(stores.broker.pool, async () => {
      await worker.start();
      try {
        id = await new Stem({ broker: stores.broker, backend: inOtherSchema, registry }).enqueue('report.build', { n: 4 }, { queue });
        await until(() => done === 1, 5_000);
      } finally {
        await worker.close();
      }
    });
    expect(sent.filter(isPlainAck)).toHaveLength(1);
    expect(await inOtherSchema.get(id)).toMatchObject({ state: 'succeeded', payload: 8 });
    expect(await jobRows(stores.schema, queue)).toEqual([]);
  });

  it('folds for a backend in another schema on the broker’s own pool: the status lands in its schema, the job row leaves the broker’s', async () => {
    const jobsSchema = testSchema();
    const resultsSchema = testSchema();
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
    const broker = await PostgresBroker.connect(pool, { schema: jobsSchema, logger });
    const backend = await PostgresResultBackend.connect(pool, { schema: resultsSchema, logger });
    cleanups.push(async () => {
      await broker.close();
      await backend.close();
      await pool.end();
      await dropSchema(jobsSchema);
      await dropSchema(resultsSchema);
    });
    const queue = uniqueName('q');
    const id = await new Stem({ broker, backend, registry }).enqueue('report.build', { n: 3 }, { queue });
    const consumer = broker.consume({ queues: [queue], consumerName: 'c1' });
    const [delivery] = (await fetchAll(consumer, 1, 5_000)) as [Delivery];
    await consumer.close();
    const acker = broker.statusAcker(backend);
    expect(acker).toBeDefined();
    const sent = await statementsDuring(pool, () => acker!.ackWithStatus(delivery, succeeded(delivery)));
    expect(sent).toHaveLength(1);
    expect(await backend.get(id)).toMatchObject({ state: 'succeeded', payload: 6 });
    expect(await jobRows(jobsSchema, queue)).toEqual([]);
  });
});
