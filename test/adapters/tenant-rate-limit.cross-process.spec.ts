import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { migratePostgres, PostgresBroker, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import type { Broker, ResultBackend } from '../../lib/core/contracts/index.js';
import { StemMeta } from '../../lib/core/envelope.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { dropSchema, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { FixtureProcess } from '../redis/child-process.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { POSTGRES_URL, postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';

const withRedis = await redisAvailable();
const withPostgres = await postgresAvailable();
const WORKER = fileURLToPath(new URL('../support/fixtures/tenant-worker.ts', import.meta.url));

/** What the fixture's `tenant.work` returns. */
interface Started {
  readonly startedAt: number;
  readonly pid: number;
  readonly tenant: string;
}

/**
 * Largest slack allowed between a token being granted and the handler starting (the first start
 * may lag its grant by this much, making later starts look early by as much).
 */
const START_LAG_MS = 300;

/**
 * Two worker processes on one store, each with the store's rate limiter; a tenant limit of 5/s must
 * hold across both (not 5/s per process) while another tenant runs at once.
 */
function crossProcessSuite(kind: 'redis' | 'postgres', url: string, namespace: string, open: () => Promise<{ broker: Broker; backend: ResultBackend }>) {
  const processes: FixtureProcess[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
    for (const close of closers.splice(0).reverse()) await close();
  });

  it('a tenant limit of 5/s holds across two worker processes, and another tenant is not slowed by it', async () => {
    const queue = uniqueName('tenant-xp');
    const env = { STEM_KIND: kind, STEM_URL: url, STEM_NAMESPACE: namespace, STEM_QUEUE: queue };
    const workers = [FixtureProcess.startFile(WORKER, env), FixtureProcess.startFile(WORKER, env)];
    processes.push(...workers);
    await Promise.all(workers.map((w) => w.waitForLine((l) => l === 'ready', 45_000)));
    const { broker, backend } = await open();
    closers.push(() => Promise.all([broker.close(), backend.close()]));
    const stem = new Stem({ broker, backend, registry: new SimpleTaskRegistry() });
    const batch = (tenant: string, count: number) => stem.enqueueMany(Array.from({ length: count }, () => ({ name: 'tenant.work', options: { queue, headers: { tenant } } })));

    const acme = await batch('acme', 20);
    const globex = await batch('globex', 5);
    const wait = (ids: readonly string[]) => Promise.all(ids.map((id) => stem.waitForTask<Started>(id, { timeout: 30_000 })));
    const [acmeResults, globexResults] = await Promise.all([wait(acme), wait(globex)]);

    for (const r of [...acmeResults, ...globexResults]) expect(r.status).toMatchObject({ state: 'succeeded', attempt: 0 });
    expect(new Set([...acmeResults, ...globexResults].map((r) => r.value!.pid))).toEqual(new Set(workers.map((w) => w.pid)));

    // Token bucket of 5 per second shared by both processes: after the burst of 5, the k-th start
    // (0-based) comes no sooner than (k - 4) × 200 ms after the first. Two separate 5/s budgets
    // would run all 20 within about a second.
    const acmeStarts = acmeResults.map((r) => r.value!.startedAt).sort((a, b) => a - b);
    const first = acmeStarts[0]!;
    for (let k = 5; k < acmeStarts.length; k++) expect(acmeStarts[k]! - first).toBeGreaterThanOrEqual((k - 4) * 200 - START_LAG_MS);
    expect(acmeStarts[acmeStarts.length - 1]! - first).toBeGreaterThanOrEqual(16 * 200 - START_LAG_MS);

    // The other tenant's five fit its own budget: none was delayed, all ran while acme waited.
    expect(globexResults.filter((r) => r.status!.meta[StemMeta.rateLimitedUntil] !== undefined)).toEqual([]);
    expect(Math.max(...globexResults.map((r) => r.value!.startedAt))).toBeLessThan(acmeStarts[acmeStarts.length - 1]!);
  }, 120_000);
}

describe.runIf(withRedis)('Tenant rate limits across processes: Redis', () => {
  const prefix = uniquePrefix('tenant-xp');
  afterAll(() => deleteKeys(REDIS_URL, prefix));
  crossProcessSuite('redis', REDIS_URL, prefix, async () => ({
    broker: await RedisStreamsBroker.connect(REDIS_URL, { prefix }),
    backend: await RedisResultBackend.connect(REDIS_URL, { prefix }),
  }));
});

describe.runIf(withPostgres)('Tenant rate limits across processes: Postgres', () => {
  const schema = testSchema();
  const logger = recordingLogger();
  afterAll(() => dropSchema(schema));
  crossProcessSuite('postgres', POSTGRES_URL, schema, async () => {
    await migratePostgres(POSTGRES_URL, { schema, logger });
    return { broker: await PostgresBroker.connect(POSTGRES_URL, { schema, logger }), backend: await PostgresResultBackend.connect(POSTGRES_URL, { schema, logger }) };
  });
});
