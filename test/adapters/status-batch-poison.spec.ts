import { afterAll, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { RedisResultBackend } from '../../lib/adapters/redis/index.js';
import { type ResultBackend, SimpleTaskRegistry, Stem, Worker } from '../../lib/core/index.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';

const redis = await redisAvailable();
const postgres = await postgresAvailable();
const prefix = uniquePrefix('status-poison');
const schema = testSchema();

afterAll(async () => {
  if (redis) await deleteKeys(REDIS_URL, prefix);
  if (postgres) await dropSchema(schema);
});

const backends: [string, boolean, () => Promise<ResultBackend>][] = [
  ['memory', true, async () => new InMemoryResultBackend()],
  ['redis', redis, () => RedisResultBackend.connect(REDIS_URL, { prefix })],
  ['postgres', postgres, () => PostgresResultBackend.connect(POSTGRES_URL, { schema, logger: recordingLogger() })],
];

describe.each(backends)('Worker status writes on %s: one unstorable result fails only its own task', (_name, available, connect) => {
  it.runIf(available)('15 tasks finishing in the same turn as one returning a BigInt succeed; that one is failed result-not-storable', async () => {
    const backend = await connect();
    const broker = new InMemoryBroker();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const runs = new Map<string, number>();
    const registry = new SimpleTaskRegistry([
      {
        name: 'fine',
        call: async (ctx) => {
          runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1);
          await gate;
          return { id: ctx.id };
        },
      },
      {
        name: 'bigint',
        options: { maxRetries: 3 },
        call: async (ctx) => {
          runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1);
          await gate;
          return { n: 10n };
        },
      },
    ]);
    const stem = new Stem({ broker, backend, registry });
    const worker = new Worker({ broker, backend, registry, concurrency: 16 });
    try {
      await worker.start();
      const fine = await Promise.all(Array.from({ length: 15 }, () => stem.enqueue('fine')));
      const bad = await stem.enqueue('bigint');
      const deadline = Date.now() + 5_000;
      while (runs.size < 16 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(runs.size).toBe(16);
      release();
      const results = await Promise.all(fine.map((id) => stem.waitForTask(id, { timeout: 5_000 })));
      expect(results.map((r) => r.status?.state)).toEqual(fine.map(() => 'succeeded'));
      expect(results.map((r) => (r.value as { id: string }).id)).toEqual(fine);
      const failed = (await stem.waitForTask(bad, { timeout: 5_000 })).status;
      expect(failed).toMatchObject({ state: 'failed', error: { type: 'ResultNotStorableError', meta: { 'stem.deadLetterReason': 'result-not-storable' } } });
      expect((await broker.listDeadLetters('default')).items.map((l) => [l.envelope.id, l.reason])).toEqual([[bad, 'result-not-storable']]);
      expect([...runs.values()]).toEqual(Array.from({ length: 16 }, () => 1));
    } finally {
      await worker.close({ mode: 'hard' });
      await broker.close();
      await backend.close();
    }
  });
});
