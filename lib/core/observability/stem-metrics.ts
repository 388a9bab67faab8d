import { type Attributes, type Counter, type Histogram, type Meter, type MeterProvider, metrics } from '@opentelemetry/api';
import type { BeatMetricsHook } from '../beat/beat.options.js';
import type { Broker } from '../contracts/broker.js';
import type { ThreadExecutor } from '../worker/threads/thread-executor.js';
import type { StemSignals } from '../signals/stem-signals.js';
import type { Worker } from '../worker/worker.js';

/** Name of the OpenTelemetry meter Stem records on. */
export const STEM_METER_NAME = 'nestjs-stem';

/** Metric names kept from Stem, so dashboards built for it keep working. */
export const StemMetricNames = {
  tasksStarted: 'stem.tasks.started',
  tasksSucceeded: 'stem.tasks.succeeded',
  tasksFailed: 'stem.tasks.failed',
  tasksRetried: 'stem.tasks.retried',
  tasksRevoked: 'stem.tasks.revoked',
  tasksDeduplicated: 'stem.tasks.deduplicated',
  tasksDeadLettered: 'stem.tasks.dead_lettered',
  tasksRateLimited: 'stem.tasks.rate_limited',
  rateLimiterDegraded: 'stem.rate_limiter.degraded',
  taskDuration: 'stem.task.duration',
  queueDepth: 'stem.queue.depth',
  workerInflight: 'stem.worker.inflight',
  schedulerDrift: 'stem.scheduler.drift',
  workerScaled: 'stem.worker.scaled',
  workerConcurrency: 'stem.worker.concurrency',
  threadsReplaced: 'stem.threads.replaced',
  threadsBusy: 'stem.threads.busy',
  threadsSize: 'stem.threads.size',
} as const;

/**
 * Records Stem's metrics through the OpenTelemetry API. Without an OpenTelemetry SDK in the
 * process every call is a no-op; register a `MeterProvider` (or pass one) to export them.
 *
 * @example
 * const telemetry = new StemMetrics();
 * const stop = telemetry.instrumentWorker(worker, broker);
 * const beat = new Beat({ store, stem, lockStore, metrics: telemetry.beatHook() });
 */
export class StemMetrics {
  private readonly meter: Meter;
  private readonly counters = new Map<string, Counter>();
  private readonly histograms = new Map<string, Histogram>();

  /** @param meterProvider @default the global provider (`metrics.getMeterProvider()`) */
  constructor(meterProvider?: MeterProvider) {
    this.meter = (meterProvider ?? metrics.getMeterProvider()).getMeter(STEM_METER_NAME);
  }

  /** Adds `value` to the counter `name` (created on first use). */
  increment(name: string, value = 1, attributes: Attributes = {}): void {
    let counter = this.counters.get(name);
    if (!counter) this.counters.set(name, (counter = this.meter.createCounter(name)));
    counter.add(value, attributes);
  }

  /** Records `value` on the histogram `name` (created on first use). */
  record(name: string, value: number, unit: string, attributes: Attributes = {}): void {
    let histogram = this.histograms.get(name);
    if (!histogram) this.histograms.set(name, (histogram = this.meter.createHistogram(name, { unit })));
    histogram.record(value, attributes);
  }

  /**
   * Counts a worker's task outcomes (`stem.tasks.*`), records `stem.task.duration` (ms), and
   * observes `stem.worker.inflight` and, with a broker, `stem.queue.depth` of its queues.
   * Returns a function that stops it.
   */
  instrumentWorker(worker: Worker, broker?: Broker): () => void {
    const attrs = (env: { name: string; queue: string }): Attributes => ({ 'stem.task': env.name, 'stem.queue': env.queue });
    const on: StemSignals['on'] = (signal, listener) => worker.signals.on(signal, listener, { filter: { workerId: worker.id } });
    const offs = [
      on('task-prerun', ({ envelope }) => this.increment(StemMetricNames.tasksStarted, 1, attrs(envelope))),
      on('task-succeeded', ({ envelope, durationMs }) => {
        this.increment(StemMetricNames.tasksSucceeded, 1, attrs(envelope));
        this.record(StemMetricNames.taskDuration, durationMs, 'ms', attrs(envelope));
      }),
      on('task-failed', ({ envelope }) => this.increment(StemMetricNames.tasksFailed, 1, attrs(envelope))),
      on('task-retry', ({ envelope }) => this.increment(StemMetricNames.tasksRetried, 1, attrs(envelope))),
      on('task-expired', ({ envelope }) => this.increment(StemMetricNames.tasksRevoked, 1, { ...attrs(envelope), reason: 'expired' })),
      on('task-revoked', ({ envelope }) => this.increment(StemMetricNames.tasksRevoked, 1, { ...attrs(envelope), reason: 'revoked' })),
      on('task-dead-lettered', ({ envelope, reason }) => this.increment(StemMetricNames.tasksDeadLettered, 1, { ...attrs(envelope), reason })),
      on('task-rate-limited', ({ envelope, scope }) => this.increment(StemMetricNames.tasksRateLimited, 1, { ...attrs(envelope), 'stem.rate_limit.kind': scope.kind })),
      on('task-rate-limiter-degraded', ({ envelope, kind, mode }) =>
        this.increment(StemMetricNames.rateLimiterDegraded, 1, { ...attrs(envelope), 'stem.rate_limit.kind': kind, mode }),
      ),
      on('worker-scaled', (s) =>
        this.increment(StemMetricNames.workerScaled, 1, { 'stem.worker': worker.id, direction: s.to > s.from ? 'up' : 'down', reason: s.reason, to: s.to }),
      ),
    ];
    const inflight = this.meter.createObservableGauge(StemMetricNames.workerInflight);
    const concurrency = this.meter.createObservableGauge(StemMetricNames.workerConcurrency);
    const observeInflight = (result: { observe(value: number, attributes?: Attributes): void }) => {
      result.observe(worker.stats().active, { 'stem.worker': worker.id });
    };
    const observeConcurrency = (result: { observe(value: number, attributes?: Attributes): void }) => {
      result.observe(worker.concurrency, { 'stem.worker': worker.id });
    };
    concurrency.addCallback(observeConcurrency);
    inflight.addCallback(observeInflight);
    const depth = broker ? this.meter.createObservableGauge(StemMetricNames.queueDepth) : undefined;
    const observeDepth = async (result: { observe(value: number, attributes?: Attributes): void }) => {
      for (const queue of worker.queues) {
        const pending = await broker!.pendingCount(queue).catch(() => undefined);
        if (pending !== undefined) result.observe(pending, { 'stem.queue': queue });
      }
    };
    depth?.addCallback(observeDepth);
    return () => {
      for (const off of offs) off();
      inflight.removeCallback(observeInflight);
      concurrency.removeCallback(observeConcurrency);
      depth?.removeCallback(observeDepth);
    };
  }

  /**
   * Counts a thread pool's replacements (`stem.threads.replaced`, with the `reason`) and observes
   * its `stem.threads.size` and `stem.threads.busy`. Returns a function that stops it.
   */
  instrumentThreadPool(pool: Pick<ThreadExecutor, 'events' | 'stats'>, workerId: string): () => void {
    const attrs = { 'stem.worker': workerId };
    const off = pool.events.on('thread:replaced', (info) => this.increment(StemMetricNames.threadsReplaced, 1, { ...attrs, reason: info.reason }));
    const size = this.meter.createObservableGauge(StemMetricNames.threadsSize);
    const busy = this.meter.createObservableGauge(StemMetricNames.threadsBusy);
    const observeSize = (result: { observe(value: number, attributes?: Attributes): void }) => result.observe(pool.stats().size, attrs);
    const observeBusy = (result: { observe(value: number, attributes?: Attributes): void }) => result.observe(pool.stats().busy, attrs);
    size.addCallback(observeSize);
    busy.addCallback(observeBusy);
    return () => {
      off();
      size.removeCallback(observeSize);
      busy.removeCallback(observeBusy);
    };
  }

  /** A Beat `metrics` hook that records `stem.scheduler.drift` and the dispatch counters. */
  beatHook(): BeatMetricsHook {
    return (metric) => {
      if (metric.unit === 'ms') this.record(metric.name, metric.value, 'ms', metric.attributes);
      else if (metric.name.endsWith('.entries')) this.record(metric.name, metric.value, '1', metric.attributes);
      else this.increment(metric.name, metric.value, metric.attributes);
    };
  }
}
