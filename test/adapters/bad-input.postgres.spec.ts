import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresBroker, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { fetchWithin, makeEnvelope, sleep, uniqueName } from '../../lib/testing/contract-helpers.js';
import { postgresAvailable } from '../support/services.js';
import { adminQuery, dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { deepEnvelope, malformedPatches, rawEnvelope, runBadInputTests } from './bad-input.suite.js';

const available = await postgresAvailable();
const schema = testSchema();

describe.runIf(available)('PostgresBroker with bad input', () => {
  afterAll(() => dropSchema(schema));
  const longId = randomBytes(10_000).toString('hex');

  const insert = (rows: { taskId: string; queue: string; envelope: string; visibilityMs?: number | null; priority?: number }[]) =>
    adminQuery(
      `INSERT INTO "${schema}".jobs (task_id, queue, priority, visibility_ms, envelope)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::json[])`,
      [rows.map((r) => r.taskId), rows.map((r) => r.queue), rows.map((r) => r.priority ?? 0), rows.map((r) => r.visibilityMs ?? null), rows.map((r) => r.envelope)],
    );

  runBadInputTests(async () => {
    const logger = recordingLogger();
    const broker = await PostgresBroker.connect(POSTGRES_URL, { schema, logger });
    const backend = await PostgresResultBackend.connect(POSTGRES_URL, { schema, logger });
    return {
      broker,
      backend,
      inject: async (queue, phase) => {
        if (phase === 'before') {
          const patches = malformedPatches();
          await insert([
            { taskId: 'pg-hello', queue, envelope: '{"hello": "world"}' },
            { taskId: 'dup-1', queue, envelope: rawEnvelope(queue, { id: 'dup-1', priority: 1.5 }) },
            { taskId: 'dup-1', queue, envelope: rawEnvelope(queue, { id: 'dup-1', priority: 1.5 }) },
            ...patches.map((patch, i) => ({ taskId: `pg-patch-${i}`, queue, envelope: rawEnvelope(queue, patch), priority: i % 10 })),
          ]);
          return { malformed: 3 + patches.length, valid: [] };
        }
        // NOTE: the 10 kB task id is too long for the dead letters' index, so only a sanitized dead letter fits.
        const splitPair = `{"junk": "${'a'.repeat(9_990)}\u{1F600}"}`;
        await insert([
          { taskId: longId, queue, envelope: '{"x": 1}', priority: 9 },
          { taskId: 'pg-deep', queue, envelope: deepEnvelope(queue, 10_000), priority: 9 },
          { taskId: 'pg-split', queue, envelope: splitPair, priority: 9 },
          { taskId: 'pg-col-0', queue, envelope: rawEnvelope(queue, { args: { i: 'col-0', slowMs: 300 } }), visibilityMs: 0, priority: 9 },
        ]);
        return { malformed: 3, valid: ['col-0'] };
      },
      checkDeadLetters: async (queue, dead) => {
        expect(dead.filter((d) => d.envelope.id === 'dup-1')).toHaveLength(2);
        const errorOf = (entry: { meta: Record<string, unknown> } | null) => (entry?.meta.error as { message?: string } | undefined)?.message;
        expect(errorOf(await broker.getDeadLetter(queue, 'pg-patch-2'))).toMatch(/visibilityTimeout must be/);
        const sanitized = await broker.getDeadLetter(queue, longId.slice(0, 256));
        expect(sanitized?.meta.notStorable).toMatch(/index row/);
        expect(errorOf(sanitized)).toMatch(/id must be a non-empty string/);
        expect(Buffer.from(String(sanitized?.meta.original), 'base64').toString('utf8')).toContain(longId);
        expect((await broker.getDeadLetter(queue, 'pg-split'))?.meta.raw).toMatch(/^\{"junk": "a+$/);
      },
      close: async () => {
        await broker.close();
        await backend.close();
      },
    };
  });

  it('a requeue keeps the row on its queue, whatever queue the replacement envelope names', async () => {
    const broker = await PostgresBroker.connect(POSTGRES_URL, { schema, logger: recordingLogger() });
    try {
      const queue = uniqueName('rq');
      const env = makeEnvelope(queue);
      await broker.publish(env);
      const consumer = broker.consume({ queues: [queue], consumerName: 'c' });
      const [d] = await fetchWithin(consumer, 1, 2_000);
      await broker.nack(d!, { requeue: true, envelope: { ...env, queue: 'nobody-consumes-this', attempt: 1 } });
      expect(await broker.pendingCount(queue)).toBe(1);
      expect(await broker.pendingCount('nobody-consumes-this')).toBe(0);
      const [again] = await fetchWithin(consumer, 1, 2_000);
      expect(again?.envelope).toMatchObject({ id: env.id, attempt: 1 });
      await consumer.close();
    } finally {
      await broker.close();
    }
  });

  it('deletes dead letters past the retention in a periodic sweep', async () => {
    const broker = await PostgresBroker.connect(POSTGRES_URL, { schema, logger: recordingLogger(), deadLetterRetention: 300, deadLetterSweepInterval: 100 });
    try {
      const queue = uniqueName('ret');
      const env = makeEnvelope(queue);
      await broker.publish(env);
      const consumer = broker.consume({ queues: [queue], consumerName: 'c' });
      await broker.deadLetter((await fetchWithin(consumer, 1, 2_000))[0]!, 'expired');
      expect((await broker.listDeadLetters(queue)).items).toHaveLength(1);
      await sleep(800);
      expect((await broker.listDeadLetters(queue)).items).toEqual([]);
      await consumer.close();
    } finally {
      await broker.close();
    }
  });
});
