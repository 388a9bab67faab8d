import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap, Optional } from '@nestjs/common';
import { Beat } from '../core/beat/beat.js';
import { StemScheduler } from '../core/beat/stem-scheduler.js';
import { ConfigurationError } from '../core/errors/configuration.error.js';
import { StemMetrics } from '../core/observability/stem-metrics.js';
import { isStemThread } from '../core/worker/threads/thread-marker.js';
import type { Stem } from '../core/stem.js';
import type { StemModuleOptions } from './interfaces/stem-module-options.interface.js';
import type { StemAdapters } from '../adapters/stem-adapters.factory.js';
import { StemScheduleDefinitions } from './stem-schedule.definitions.js';
import { metricsEnabled } from './stem-telemetry.js';
import { STEM_ADAPTERS, STEM_PRODUCER } from './stem.constants.js';
import { STEM_MODULE_OPTIONS } from './stem.module-definition.js';

/**
 * Runs Beat when `beat` is set in the module options: upserts the `@Schedule()` entries into the
 * schedule store once the app has bootstrapped, starts ticking, and stops before shutdown
 * (releasing its locks so another replica takes over at once).
 */
@Injectable()
export class StemBeatHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('StemBeat');
  private current?: Beat;

  constructor(
    @Inject(STEM_MODULE_OPTIONS) private readonly options: StemModuleOptions,
    @Inject(STEM_ADAPTERS) private readonly adapters: StemAdapters,
    @Inject(STEM_PRODUCER) private readonly producer: Stem,
    private readonly definitions: StemScheduleDefinitions,
    @Optional() @Inject(StemScheduler) private readonly scheduler: StemScheduler | null,
  ) {}

  /** The running Beat, or `undefined` when this process does not run Beat. */
  get beat(): Beat | undefined {
    return this.current;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.options.beat || isStemThread()) return;
    if (!this.scheduler || !this.adapters.scheduleStore) {
      throw new ConfigurationError('scheduleStore', 'beat is enabled but no schedule store is configured; set "scheduleStore" to a store URL or instance');
    }
    const synced = await this.scheduler.syncDefinitions(this.definitions.list());
    const settings = typeof this.options.beat === 'object' ? this.options.beat : {};
    const beat = new Beat({
      store: this.adapters.scheduleStore,
      stem: this.producer,
      lockStore: this.adapters.lockStore,
      ...(metricsEnabled(this.options) ? { metrics: new StemMetrics().beatHook() } : {}),
      tracing: this.producer.tracing ?? false,
      ...settings,
    });
    beat.events.on('beat:error', (error) => this.logger.error(`Beat error: ${error.message}`, error.stack));
    beat.events.on('schedule:failed', (entry, error) => this.logger.warn(`Schedule "${entry.id}" failed to enqueue "${entry.task}": ${error.message}`));
    await beat.start();
    this.current = beat;
    this.logger.log(`Beat ${beat.id} running; schedules created [${synced.created.join(', ')}], updated [${synced.updated.join(', ')}], removed [${synced.removed.join(', ')}]`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.current?.stop();
  }
}
