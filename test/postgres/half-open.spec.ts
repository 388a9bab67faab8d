import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresBroker, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { Worker } from '../../lib/core/worker/worker.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { postgresAvailable } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { dropSchema, eventually, POSTGRES_URL, recordingLogger, testSchema } from './postgres-test-kit.js';

const available = await postgresAvailable();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The detection bound the worker is configured with: one health-check interval plus the dead-connection timeout. */
const HEALTH = { healthCheckInterval: 500, deadConnectionTimeout: 1_500, queryTimeout: 1_500, connectTimeout: 1_000 };
const BOUND = HEALTH.healthCheckInterval + HEALTH.deadConnectionTimeout;

describe.runIf(available)('Postgres behind a black-holed path', () => {
  let proxy: TcpProxy;
  const schema = testSchema();
  beforeAll(async () => {
    const { hostname, port } = new URL(POSTGRES_URL);
    proxy = await TcpProxy.start(hostname, Number(port || 5432));
  });
  afterAll(async () => {
    await proxy?.close();
    await dropSchema(schema);
  });

  it('notices the stall within the bound, logs it, replaces its connections and runs every task exactly once', async () => {
    const queue = uniqueName('half-open');
    const runs = new Map<string, number>();
    const registry = new SimpleTaskRegistry([{ name: 'half-open.work', call: (ctx) => void runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1) }]);
    const logger = recordingLogger();
    const logged: { at: number; line: string }[] = [];
    const timedLogger = {
      info: (message: string) => logger.info(message),
      warn: (message: string, error?: unknown) => {
        logger.warn(message, error);
        logged.push({ at: Date.now(), line: logger.lines[logger.lines.length - 1]! });
      },
    };
    const target = new URL(POSTGRES_URL);
    target.host = `127.0.0.1:${proxy.port}`;
    const proxied = target.toString();
    // The producer migrates the schema and talks to Postgres directly: only the worker's path goes dark.
    const producerBroker = await PostgresBroker.connect(POSTGRES_URL, { schema, logger: recordingLogger() });
    const producerBackend = await PostgresResultBackend.connect(POSTGRES_URL, { schema, logger: recordingLogger() });
    const broker = await PostgresBroker.connect(proxied, { schema, logger: timedLogger, defaultVisibilityTimeout: 3_000, pollInterval: 500, ...HEALTH });
    const backend = await PostgresResultBackend.connect(proxied, { schema, logger: timedLogger, ...HEALTH });
    const worker = new Worker({ broker, backend, registry, queues: [queue], concurrency: 4, defaults: { visibilityTimeout: 3_000 } });
    const stem = new Stem({ broker: producerBroker, backend: producerBackend, registry });
    try {
      await worker.start();
      const before = await Promise.all(Array.from({ length: 20 }, (_, i) => stem.enqueue('half-open.work', { i }, { queue })));
      expect(await eventually(() => before.every((id) => runs.has(id)), 10_000)).toBe(true);
      await sleep(300);
      expect(logged).toEqual([]);

      proxy.pause();
      const pausedAt = Date.now();
      const during = await Promise.all(Array.from({ length: 30 }, (_, i) => stem.enqueue('half-open.work', { i }, { queue })));
      const deadLine = /The Postgres LISTEN connection to postgres:\/\/[^ ]*127\.0\.0\.1:\d+\/\S* looks dead: SELECT 1 got no answer within 1500 ms/;
      expect(await eventually(() => logged.some((l) => deadLine.test(l.line)), BOUND + 1_500)).toBe(true);
      expect(logged.find((l) => deadLine.test(l.line))!.at - pausedAt).toBeLessThanOrEqual(BOUND + 1_000);
      expect(logged.some((l) => l.line.includes(String(proxy.port)) && !l.line.includes('@127.0.0.1:5432'))).toBe(true);
      expect(during.filter((id) => runs.has(id))).toEqual([]);

      await sleep(1_000);
      proxy.resume();
      const ids = [...before, ...during];
      expect(await eventually(() => ids.every((id) => runs.has(id)), 20_000)).toBe(true);
      // NOTE: a claim held on the dark path reaches the server when it returns and leases rows to a
      // reply nobody reads; those leases lapse after 3 s and the rows run then. Wait past that.
      await sleep(4_000);
      expect(ids.filter((id) => runs.get(id) !== 1)).toEqual([]);
      expect([...runs.keys()].sort()).toEqual([...ids].sort());
      const statuses = await Promise.all(ids.map((id) => producerBackend.get(id)));
      expect(statuses.filter((s) => s?.state !== 'succeeded')).toEqual([]);
      expect(await producerBroker.pendingCount(queue)).toBe(0);
      expect(await producerBroker.inflightCount(queue)).toBe(0);
    } finally {
      proxy.resume();
      await worker.close();
      await Promise.all([broker.close(), backend.close(), producerBroker.close(), producerBackend.close()]);
    }
  }, 60_000);

  it('refuses unusable dead-connection settings before connecting, naming the option', async () => {
    await expect(PostgresBroker.connect(POSTGRES_URL, { schema, deadConnectionTimeout: 0 })).rejects.toThrow(/deadConnectionTimeout/);
    await expect(PostgresBroker.connect(POSTGRES_URL, { schema, queryTimeout: -1 })).rejects.toThrow(/queryTimeout/);
  });
});
