import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, RateLimiter, ResultBackend } from '../../lib/core/contracts/index.js';
import { StemMeta, type TaskStatus } from '../../lib/core/envelope.js';
import { StemMetrics } from '../../lib/core/observability/index.js';
import { Stem } from '../../lib/core/stem.js';
import type { TaskHandler } from '../../lib/core/task-handler.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import type { RateLimiterFailureMode } from '../../lib/core/task-options.js';
import { Worker } from '../../lib/core/worker/worker.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { TcpProxy } from './tcp-proxy.js';

/** The stores of one adapter, for the tenant rate-limit suite. */
export interface TenantRateLimitStores {
  /** A broker and a backend reached directly (they stay healthy while the limiter fails). */
  open(): Promise<{ broker: Broker; backend: ResultBackend; close(): Promise<unknown> }>;
  /** The adapter's limiter on the server at `host:port` (a proxy the test breaks), with short timeouts. */
  limiter(host: string, port: number): Promise<RateLimiter>;
  /** Where the real server listens. */
  readonly server: { readonly host: string; readonly port: number };
}

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/**
 * Tenant and group rate limits on a shared limiter (Redis, Postgres): per-tenant budgets, and what
 * `failOpen` / `failClosed` do when the limiter's server really becomes unreachable (a TCP proxy
 * in front of it is closed or stops forwarding; nothing is mocked).
 */
export function runTenantRateLimitSuite(adapter: string, stores: TenantRateLimitStores): void {
  describe(`Tenant rate limits: ${adapter}`, () => {
    const closers: (() => Promise<unknown>)[] = [];
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    });

    async function world(options: TaskHandler['options'], proxy?: TcpProxy, others: Omit<TaskHandler, 'options'>[] = []) {
      const queue = uniqueName('tenant');
      const { broker, backend, close } = await stores.open();
      closers.push(close);
      const rateLimiter = await stores.limiter(proxy ? '127.0.0.1' : stores.server.host, proxy ? proxy.port : stores.server.port);
      closers.push(() => rateLimiter.close());
      const started: string[] = [];
      const registry = new SimpleTaskRegistry([
        {
          name: 'tenant.report',
          options: { queue, ...options },
          call: (ctx) => {
            started.push(ctx.id);
            return ctx.attempt;
          },
        },
        ...others.map((h) => ({ ...h, options: { queue, groupRateLimit: options?.groupRateLimit, groupRateKey: options?.groupRateKey } })),
      ]);
      const stem = new Stem({ broker, backend, registry });
      const worker = new Worker({ broker, backend, registry, rateLimiter, queues: [queue], concurrency: 4 });
      closers.push(() => worker.close({ mode: 'hard' }));
      const events: { kind: string; id: string; key: string; mode?: RateLimiterFailureMode }[] = [];
      worker.signals.on('task-rate-limited', ({ envelope: env, scope }) => events.push({ kind: 'limited', id: env.id, key: scope.key }));
      worker.signals.on('task-rate-limiter-degraded', ({ envelope: env, key, mode }) => events.push({ kind: 'degraded', id: env.id, key, mode }));
      const enqueue = (tenant: string, count: number) => stem.enqueueMany(Array.from({ length: count }, () => ({ name: 'tenant.report', options: { headers: { tenant } } })));
      const settled = async (ids: readonly string[]) => {
        const results = await Promise.all(ids.map((id) => stem.waitForTask<number>(id, { timeout: 10_000 })));
        return results.map((r) => r.status as TaskStatus<number>);
      };
      /** Resolves once `predicate` holds, checked on every rate-limit event. */
      const when = (predicate: () => boolean, ms = 10_000) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => (off(), off2(), reject(new Error(`not within ${ms} ms; events ${JSON.stringify(events)}`))), ms);
          const check = () => predicate() && (clearTimeout(timer), off(), off2(), resolve());
          const off = worker.signals.on('task-rate-limited', () => queueMicrotask(check));
          const off2 = worker.signals.on('task-rate-limiter-degraded', () => queueMicrotask(check));
          check();
        });
      return { stem, worker, rateLimiter, events, started, enqueue, settled, when };
    }

    it('each tenant has its own group budget on the shared limiter; the other tenant is never delayed', async () => {
      const w = await world({ groupRateLimit: '3/s' });
      await w.worker.start();
      const acme = await w.enqueue('acme', 6);
      const globex = await w.enqueue('globex', 3);
      const [acmeDone, globexDone] = [await w.settled(acme), await w.settled(globex)];
      expect([...acmeDone, ...globexDone].every((s) => s.state === 'succeeded' && s.attempt === 0)).toBe(true);
      expect(globexDone.filter((s) => s.meta[StemMeta.rateLimitedUntil] !== undefined)).toEqual([]);
      expect(acmeDone.filter((s) => s.meta[StemMeta.rateLimitedUntil] !== undefined).length).toBeGreaterThanOrEqual(2);
      expect(new Set(w.events.map((e) => e.key))).toEqual(new Set(['group:acme']));
    });

    it('a task its own limit turns away gives its group token back on the shared limiter; the group’s other tasks keep the budget', async () => {
      const sync = uniqueName('tenant.sync');
      // NOTE: per-minute limits: no token refills while the test runs, so the counts are exact.
      const w = await world({ groupRateKey: uniqueName('crm'), groupRateLimit: '3/m', rateLimit: '1/m' }, undefined, [{ name: sync, call: () => 'synced' }]);
      await w.worker.start();
      const tenant = uniqueName('acme');
      const reports = await w.enqueue(tenant, 3);
      // NOTE: the worker gives a group token back before it emits `task-rate-limited`, so once both
      // denials are seen the group's budget is what the syncs below will find.
      await w.when(() => w.started.length === 1 && w.events.filter((e) => e.kind === 'limited').length === 2);
      expect(w.events.map((e) => e.key)).toEqual(Array(2).fill(`tenant.report:${tenant}`));
      const syncs = await w.stem.enqueueMany([{ name: sync }, { name: sync }]);
      const statuses = await w.settled(syncs);
      expect(statuses.map((s) => [s.state, s.meta[StemMeta.rateLimitedUntil]])).toEqual(Array(2).fill(['succeeded', undefined]));
      expect(w.events.filter((e) => syncs.includes(e.id))).toEqual([]);
      expect(reports.filter((id) => w.started.includes(id))).toHaveLength(1);
    });

    it('failOpen (the default): with the limiter server unreachable the task runs, its status says degraded, a metric counts it', async () => {
      const proxy = await TcpProxy.start(stores.server.host, stores.server.port);
      closers.push(() => proxy.close());
      const w = await world({ groupRateLimit: '1/s', rateLimit: '1/s' }, proxy);
      const reader = new TestReader();
      const provider = new MeterProvider({ readers: [reader] });
      closers.push(() => provider.shutdown());
      const stopMetrics = new StemMetrics(provider).instrumentWorker(w.worker);
      closers.push(async () => stopMetrics());
      await w.worker.start();
      await proxy.close();
      const ids = await w.enqueue('acme', 3);
      const statuses = await w.settled(ids);
      // NOTE: 1/s would have delayed two of the three; unlimited, all ran at once.
      expect(statuses.map((s) => [s.state, s.attempt])).toEqual(Array(3).fill(['succeeded', 0]));
      for (const status of statuses) {
        expect(status.meta[StemMeta.rateLimitedUntil]).toBeUndefined();
        expect(status.meta[StemMeta.rateLimiterDegraded]).toMatchObject({ keys: ['group:acme', 'tenant.report:acme'], error: expect.any(String), at: expect.any(Number) });
      }
      expect(w.events.filter((e) => e.kind === 'degraded' && e.mode === 'failOpen')).toHaveLength(6);
      const { resourceMetrics } = await reader.collect();
      const degraded = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'stem.rate_limiter.degraded');
      expect(degraded?.dataPoints.reduce((n, p) => n + (p.value as number), 0)).toBe(6);
      expect(degraded?.dataPoints.map((p) => p.attributes)).toEqual(
        expect.arrayContaining([expect.objectContaining({ 'stem.task': 'tenant.report', 'stem.rate_limit.kind': 'group', mode: 'failOpen' })]),
      );
    });

    it('failClosed: while the limiter server does not answer the task waits, keeping its attempt; it runs once the server is back', async () => {
      const proxy = await TcpProxy.start(stores.server.host, stores.server.port);
      closers.push(() => proxy.close());
      const w = await world({ groupRateLimit: '5/s', groupRateLimiterFailureMode: 'failClosed' }, proxy);
      await w.worker.start();
      proxy.pause();
      const ids = await w.enqueue('acme', 2);
      await w.when(() => ids.every((id) => w.events.some((e) => e.kind === 'limited' && e.id === id)));
      expect(w.started).toEqual([]);
      const degraded = w.events.filter((e) => e.kind === 'degraded');
      expect(degraded.length).toBeGreaterThanOrEqual(ids.length);
      expect(degraded.every((e) => e.mode === 'failClosed' && e.key === 'group:acme')).toBe(true);
      for (const id of ids) {
        const status = await w.stem.getTaskStatus(id);
        expect(status).toMatchObject({ state: 'queued', attempt: 0 });
        expect(status!.meta[StemMeta.rateLimitedUntil]).toEqual(expect.any(Number));
      }
      proxy.resume();
      const statuses = await w.settled(ids);
      expect(statuses.map((s) => [s.state, s.attempt, s.meta[StemMeta.rateLimiterDegraded]])).toEqual(Array(2).fill(['succeeded', 0, undefined]));
    }, 30_000);
  });
}
