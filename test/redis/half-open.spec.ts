import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisDeadConnectionError, RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { Worker } from '../../lib/core/worker/worker.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { deleteKeys } from './redis-test-utils.js';

const available = await redisAvailable();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** The detection bound the worker is configured with: one health-check interval plus the dead-connection timeout. */
const HEALTH = { healthCheckInterval: 500, deadConnectionTimeout: 1_500 };
const BOUND = HEALTH.healthCheckInterval + HEALTH.deadConnectionTimeout;

describe.runIf(available)('Redis behind a black-holed path', () => {
  let proxy: TcpProxy;
  const prefix = uniqueName('stem-half-open');
  beforeAll(async () => {
    const { hostname, port } = new URL(REDIS_URL);
    proxy = await TcpProxy.start(hostname, Number(port || 6379));
  });
  afterAll(async () => {
    await proxy?.close();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('notices the stall within the bound, reports it, replaces its connections and runs every task exactly once', async () => {
    const queue = uniqueName('half-open');
    const runs = new Map<string, number>();
    const registry = new SimpleTaskRegistry([{ name: 'half-open.work', call: (ctx) => void runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1) }]);
    const errors: { at: number; error: unknown }[] = [];
    const onError = (error: unknown) => void errors.push({ at: Date.now(), error });
    const proxied = `redis://127.0.0.1:${proxy.port}`;
    const broker = await RedisStreamsBroker.connect(proxied, { prefix, cluster: false, defaultVisibilityTimeout: 3_000, onError, ...HEALTH });
    const backend = await RedisResultBackend.connect(proxied, { prefix, cluster: false, ...HEALTH });
    const worker = new Worker({ broker, backend, registry, queues: [queue], concurrency: 4, defaults: { visibilityTimeout: 3_000 } });
    // The producer talks to Redis directly: only the worker's path goes dark.
    const producerBroker = await RedisStreamsBroker.connect(REDIS_URL, { prefix, cluster: false });
    const producerBackend = await RedisResultBackend.connect(REDIS_URL, { prefix, cluster: false });
    const stem = new Stem({ broker: producerBroker, backend: producerBackend, registry });
    try {
      await worker.start();
      const before = await Promise.all(Array.from({ length: 20 }, (_, i) => stem.enqueue('half-open.work', { i }, { queue })));
      expect(await until(() => before.every((id) => runs.has(id)), 10_000)).toBe(true);
      await sleep(300);
      expect(errors).toEqual([]);

      proxy.pause();
      const pausedAt = Date.now();
      const during = await Promise.all(Array.from({ length: 30 }, (_, i) => stem.enqueue('half-open.work', { i }, { queue })));
      expect(await until(() => errors.some((e) => e.error instanceof RedisDeadConnectionError), BOUND + 1_500)).toBe(true);
      const first = errors.find((e) => e.error instanceof RedisDeadConnectionError)!;
      expect(first.at - pausedAt).toBeLessThanOrEqual(BOUND + 1_000);
      const messages = () => errors.map((e) => String((e.error as Error).message));
      expect(messages().some((m) => /The Redis (command|blocking) connection to redis:\/\/127\.0\.0\.1:\d+ looks dead/.test(m))).toBe(true);
      // The idle worker's blocking XREAD is bounded too: it is declared dead on its own.
      expect(await until(() => messages().some((m) => /The Redis blocking connection .* looks dead: blocking XREAD/.test(m)), BOUND + 1_500)).toBe(true);
      expect(during.filter((id) => runs.has(id))).toEqual([]);

      await sleep(1_000);
      proxy.resume();
      const ids = [...before, ...during];
      expect(await until(() => ids.every((id) => runs.has(id)), 20_000)).toBe(true);
      // NOTE: a fetch held on the dark path reaches the server when it returns and leases entries to
      // a reply nobody reads; those leases lapse after 3 s and the entries run then. Wait past that.
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

  it('fails a command with no reply within commandTimeout, naming the command and the bound', async () => {
    const broker = await RedisStreamsBroker.connect(`redis://127.0.0.1:${proxy.port}`, { prefix, cluster: false, commandTimeout: 300, healthCheckInterval: 0 });
    try {
      proxy.pause();
      const started = Date.now();
      const error = await broker.connection.command('ping').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RedisDeadConnectionError);
      expect((error as Error).message).toMatch(/command PING got no reply within 300 ms \(commandTimeout\)/);
      expect(Date.now() - started).toBeLessThan(1_500);
      proxy.resume();
      expect(await broker.connection.command('ping')).toBe('PONG');
    } finally {
      proxy.resume();
      await broker.close();
    }
  });

  it('refuses unusable dead-connection settings before connecting, naming the option', async () => {
    await expect(RedisStreamsBroker.connect(REDIS_URL, { prefix, deadConnectionTimeout: 0 })).rejects.toThrow(/deadConnectionTimeout/);
    await expect(RedisStreamsBroker.connect(REDIS_URL, { prefix, healthCheckInterval: Number.NaN })).rejects.toThrow(/healthCheckInterval/);
  });
});
