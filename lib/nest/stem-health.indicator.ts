import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Stem } from '../core/stem.js';
import type { StemAdapters } from '../adapters/stem-adapters.factory.js';
import type { TaskRegistry } from '../core/task-handler.js';
import { DEFAULT_TASK_OPTIONS } from '../core/task-options.js';
import type { StemModuleOptions } from './interfaces/stem-module-options.interface.js';
import type { StemHealthOptions } from './interfaces/stem-health-options.interface.js';
import type { StemHealthResult, StemQueueHealth } from './interfaces/stem-health-result.interface.js';
import { STEM_ADAPTERS, STEM_PRODUCER, STEM_TASK_REGISTRY } from './stem.constants.js';
import { STEM_MODULE_OPTIONS } from './stem.module-definition.js';

/**
 * A health indicator for `@nestjs/terminus` (an optional peer dependency: this class does not
 * import it and returns terminus's result shape, so `HealthCheckService.check` reports it).
 * `down` when the broker or backend does not answer, when a queue has no live worker consuming
 * it, or when a queue's ready tasks exceed `maxQueueLag`.
 *
 * @example
 * @Get('health')
 * @HealthCheck()
 * check() {
 *   return this.health.check([() => this.stem.isHealthy('stem', { maxQueueLag: 10_000 })]);
 * }
 */
@Injectable()
export class StemHealthIndicator {
  constructor(
    @Inject(STEM_ADAPTERS) private readonly adapters: StemAdapters,
    @Inject(STEM_TASK_REGISTRY) private readonly registry: TaskRegistry,
    @Inject(STEM_MODULE_OPTIONS) private readonly options: StemModuleOptions,
    @Optional() @Inject(STEM_PRODUCER) private readonly producer: Stem | null = null,
  ) {}

  /** Checks the broker, the backend, the live workers of each queue and the queue lag. */
  async isHealthy<Key extends string = 'stem'>(key: Key = 'stem' as Key, options: StemHealthOptions = {}): Promise<StemHealthResult<Key>> {
    const queues = options.queues?.length ? [...options.queues] : this.defaultQueues();
    const errors: string[] = [];
    const pending = new Map<string, number>();
    let broker: 'up' | 'down' = 'up';
    try {
      for (const queue of queues) pending.set(queue, await this.adapters.broker.pendingCount(queue));
    } catch (error) {
      broker = 'down';
      errors.push(`broker: ${(error as Error)?.message ?? error}`);
    }
    let backend: 'up' | 'down' | 'none' = this.adapters.backend ? 'up' : 'none';
    try {
      await this.adapters.backend?.get('stem-health-probe');
    } catch (error) {
      backend = 'down';
      errors.push(`backend: ${(error as Error)?.message ?? error}`);
    }
    const consumers = new Map<string, number>();
    try {
      for (const hb of (await this.adapters.revokeStore?.listHeartbeats()) ?? []) {
        for (const queue of hb.queues) if (!hb.pausedQueues.includes(queue)) consumers.set(queue, (consumers.get(queue) ?? 0) + 1);
      }
    } catch (error) {
      errors.push(`worker heartbeats: ${(error as Error)?.message ?? error}`);
    }
    const report: Record<string, StemQueueHealth> = {};
    for (const queue of queues) {
      const workers = consumers.get(queue) ?? 0;
      const lag = pending.get(queue);
      const lagging = options.maxQueueLag !== undefined && lag !== undefined && lag > options.maxQueueLag;
      if (workers === 0) errors.push(`queue ${queue}: no live worker consumes it`);
      if (lagging) errors.push(`queue ${queue}: ${lag} ready tasks, over the limit of ${options.maxQueueLag}`);
      report[queue] = { status: workers > 0 && !lagging ? 'up' : 'down', workers, ...(lag !== undefined ? { pending: lag } : {}) };
    }
    const status = errors.length === 0 && broker === 'up' && backend !== 'down' ? 'up' : 'down';
    return { [key]: { status, broker, backend, queues: report, ...(errors.length ? { error: errors.join('; ') } : {}) } } as StemHealthResult<Key>;
  }

  /** The worker's queues and every queue the discovered tasks may be routed to (through the producer's routing, header routes included, when it has one). */
  private defaultQueues(): string[] {
    const routing = this.producer?.routing;
    const taskDefault = this.options.defaults?.queue;
    const named = this.options.worker ? (this.options.worker.queues ?? []) : [];
    const queues = new Set<string>(routing ? routing.workerQueues(named) : named);
    for (const handler of this.registry.list()) {
      const taskQueue = handler.options?.queue ?? taskDefault;
      if (!routing) queues.add(taskQueue ?? DEFAULT_TASK_OPTIONS.queue);
      else for (const queue of routing.queuesOf({ task: handler.name, ...(taskQueue !== undefined ? { taskQueue } : {}) })) queues.add(queue);
    }
    if (queues.size === 0) queues.add(taskDefault ?? routing?.defaultQueue ?? DEFAULT_TASK_OPTIONS.queue);
    return [...queues];
  }
}
