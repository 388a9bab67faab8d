import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PostgresBroker, PostgresConnectionError, PostgresResultBackend, withTransaction } from '../../lib/adapters/postgres/index.js';
import type { Broker, Consumer } from '../../lib/core/contracts/broker.js';
import { fetchAll, fetchWithin, makeEnvelope, sleep, uniqueName } from '../../lib/testing/contract-helpers.js';
import { postgresAvailable } from '../support/services.js';
import { adminQuery, dropSchema, eventually, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';

const available = await postgresAvailable();
const schema = testSchema();
const logger = recordingLogger();

describe.runIf(available)('PostgresBroker', () => {
  let broker: PostgresBroker;
  let queue: string;
  const consumers: Consumer[] = [];
  const consume = (on: Broker = broker, lease = 30_000) => {
    const c = on.consume({ queues: [queue], consumerName: uniqueName('c'), defaultVisibilityTimeout: lease });
    consumers.push(c);
    return c;
  };

  beforeAll(async () => {
    broker = await PostgresBroker.connect(POSTGRES_URL, { schema, logger });
  });
  afterEach(async () => {
    for (const c of consumers.splice(0)) await c.close();
  });
  afterAll(async () => {
    await broker.close();
    await dropSchema(schema);
  });

  it('enqueues inside a caller transaction: nothing on rollback, the job on commit', async () => {
    queue = uniqueName('tx');
    const c = consume();
    const rolledBack = makeEnvelope(queue);
    await expect(
      withTransaction(broker.pool, async (client) => {
        await broker.publishWith(client, rolledBack);
        throw new Error('business write failed');
      }),
    ).rejects.toThrow('business write failed');
    expect(await broker.pendingCount(queue)).toBe(0);
    expect(await fetchWithin(c, 1, 300)).toEqual([]);

    const committed = makeEnvelope(queue);
    const pending = c.fetch(1, AbortSignal.timeout(3_000));
    await withTransaction(broker.pool, async (client) => {
      await broker.publishWith(client, committed);
      await sleep(100);
      // NOTE: not visible to other sessions before COMMIT.
      expect(await broker.pendingCount(queue)).toBe(0);
    });
    const [d] = await pending;
    expect(d?.envelope.id).toBe(committed.id);
  });

  it('writes the queued status in the same transaction as the job', async () => {
    queue = uniqueName('txs');
    const backend = await PostgresResultBackend.connect(POSTGRES_URL, { schema, logger });
    try {
      const enqueueIn = (envelope: ReturnType<typeof makeEnvelope>, fail: boolean) =>
        withTransaction(broker.pool, async (client) => {
          await backend.setWith(client, envelope.id, { state: 'queued', attempt: 0, name: envelope.name, queue });
          await broker.publishWith(client, envelope);
          if (fail) throw new Error('rolled back');
        });
      const lost = makeEnvelope(queue);
      await expect(enqueueIn(lost, true)).rejects.toThrow('rolled back');
      expect(await backend.get(lost.id)).toBeNull();
      const kept = makeEnvelope(queue);
      await enqueueIn(kept, false);
      expect(await backend.get(kept.id)).toMatchObject({ state: 'queued', queue });
      expect(await broker.pendingCount(queue)).toBe(1);
    } finally {
      await backend.close();
    }
  });

  it('publishes a batch in one call, priority first then FIFO', async () => {
    queue = uniqueName('batch');
    const envelopes = Array.from({ length: 1_200 }, (_, i) => makeEnvelope(queue, { priority: i % 3 === 0 ? 5 : 0, args: { i } }));
    await broker.publishBatch(envelopes);
    expect(await broker.pendingCount(queue)).toBe(1_200);
    const got = await fetchAll(consume(), 1_200, 10_000);
    const expected = [...envelopes.filter((e) => e.priority === 5), ...envelopes.filter((e) => e.priority === 0)].map((e) => e.id);
    expect(got.map((d) => d.envelope.id)).toEqual(expected);
  });

  it('dead-letters an undecodable row as malformed-envelope and keeps delivering', async () => {
    queue = uniqueName('bad');
    await adminQuery(`INSERT INTO "${schema}".jobs (task_id, queue, envelope) VALUES ('broken-1', $1, '{"hello": "world"}')`, [queue]);
    const good = makeEnvelope(queue);
    await broker.publish(good);
    const [d] = await fetchWithin(consume(), 2, 3_000);
    expect(d?.envelope.id).toBe(good.id);
    const dead = await broker.getDeadLetter(queue, 'broken-1');
    expect(dead?.reason).toBe('malformed-envelope');
    expect((dead?.meta.error as { message?: string } | undefined)?.message).toMatch(/id must be a non-empty string/);
    expect(dead?.meta.raw).toBe('{"hello": "world"}');
  });

  it('a receipt settled by nack cannot ack or extend the requeued job', async () => {
    queue = uniqueName('stale');
    const env = makeEnvelope(queue);
    await broker.publish(env);
    const c = consume();
    const [first] = await fetchWithin(c, 1, 2_000);
    await broker.nack(first!, { requeue: true });
    await broker.ack(first!);
    await expect(broker.extendLease(first!, 5_000)).rejects.toMatchObject({ code: 'STEM_LEASE_LOST' });
    expect(await broker.pendingCount(queue)).toBe(1);
    const [second] = await fetchWithin(c, 1, 2_000);
    expect(second?.envelope.id).toBe(env.id);
  });

  it('nack with a replacement envelope swaps it atomically, without leaving a dead letter', async () => {
    queue = uniqueName('retry');
    const env = makeEnvelope(queue, { args: { v: 1 } });
    await broker.publish(env);
    const c = consume();
    const [d] = await fetchWithin(c, 1, 2_000);
    await broker.nack(d!, { requeue: true, envelope: { ...env, attempt: 1, notBefore: Date.now() + 150, meta: { retried: true } } });
    const { rows } = await adminQuery<{ n: number; attempt: number }>(`SELECT count(*)::int AS n, max(attempt) AS attempt FROM "${schema}".jobs WHERE task_id = $1`, [env.id]);
    expect(rows[0]).toEqual({ n: 1, attempt: 1 });
    const [again] = await fetchWithin(c, 1, 2_000);
    expect(again?.envelope).toMatchObject({ id: env.id, attempt: 1, meta: { retried: true } });
    expect((await broker.listDeadLetters(queue)).items).toEqual([]);
  });

  it('wakes an idle consumer promptly for a delayed job (timer, not the safety poll)', async () => {
    queue = uniqueName('delay');
    const slow = await PostgresBroker.connect(POSTGRES_URL, { schema, logger, pollInterval: 60_000 });
    try {
      const c = consume(slow);
      const pending = c.fetch(1, AbortSignal.timeout(5_000));
      await sleep(50);
      const due = Date.now() + 300;
      await broker.publish(makeEnvelope(queue, { notBefore: due }));
      const [d] = await pending;
      expect(d).toBeDefined();
      expect(Date.now()).toBeGreaterThanOrEqual(due - 5);
      expect(Date.now() - due).toBeLessThan(250);
    } finally {
      await slow.close();
    }
  });

  it('a consumer survives pg_terminate_backend of every connection and resumes by itself', async () => {
    queue = uniqueName('term');
    const appName = uniqueName('victim');
    const victimLogger = recordingLogger();
    // NOTE: a 60 s safety poll means only a restored LISTEN can deliver the later jobs in time.
    const victim = await PostgresBroker.connect(POSTGRES_URL, { schema, logger: victimLogger, pollInterval: 60_000, pool: { application_name: appName } });
    try {
      const c = consume(victim);
      await broker.publish(makeEnvelope(queue));
      expect(await fetchWithin(c, 1, 2_000)).toHaveLength(1);
      const pending = fetchAll(c, 2, 8_000);
      await sleep(100);
      const { rowCount } = await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [appName]);
      expect(rowCount).toBeGreaterThan(0);
      expect(await eventually(() => victimLogger.lines.some((line) => /LISTEN connection restored/.test(line)))).toBe(true);
      const published = Date.now();
      await broker.publish(makeEnvelope(queue));
      await broker.publish(makeEnvelope(queue));
      expect(await pending).toHaveLength(2);
      expect(Date.now() - published).toBeLessThan(2_000);
      expect(victimLogger.lines.some((line) => /LISTEN connection lost/.test(line))).toBe(true);
    } finally {
      await victim.close();
    }
  });

  it('broadcasts reach subscribers on separate pools', async () => {
    const channel = uniqueName('ch');
    const other = await PostgresBroker.connect(POSTGRES_URL, { schema, logger, pool: { max: 2 } });
    try {
      const seen: unknown[] = [];
      const sub = await other.subscribeBroadcast(channel, (m) => seen.push(m.payload));
      await broker.broadcast(channel, { cmd: 'shutdown' });
      expect(await eventually(() => seen.length === 1, 2_000)).toBe(true);
      expect(seen).toEqual([{ cmd: 'shutdown' }]);
      await sub.close();
      await expect(broker.broadcast(channel, { blob: 'x'.repeat(9_000) })).rejects.toMatchObject({ code: 'STEM_BROADCAST_TOO_LARGE' });
    } finally {
      await other.close();
    }
  });

  it('works on a pool the caller owns, and leaves it open on close', async () => {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 3 });
    const own = await PostgresBroker.connect(pool, { schema, logger });
    queue = uniqueName('own');
    await own.publish(makeEnvelope(queue));
    expect(await own.pendingCount(queue)).toBe(1);
    await own.close();
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await pool.end();
  });

  it('names the URL, without its password, when the server cannot be reached', async () => {
    const error = await PostgresBroker.connect('postgres://stem:s3cret@127.0.0.1:1/nowhere', { schema, logger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresConnectionError);
    expect((error as Error).message).toContain('postgres://stem:***@127.0.0.1:1/nowhere');
    expect((error as Error).message).not.toContain('s3cret');
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('rejects a schema name that is not a plain identifier', async () => {
    await expect(PostgresBroker.connect(POSTGRES_URL, { schema: 'bad-name; drop', logger })).rejects.toMatchObject({ code: 'STEM_CONFIG' });
  });
});
