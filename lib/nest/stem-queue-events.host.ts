import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { type Broker, hasBroadcast } from '../core/contracts/broker.js';
import { ConfigurationError } from '../core/errors/configuration.error.js';
import type { QueueEvent } from '../core/queue-events/queue-event.js';
import { QueueEvents } from '../core/queue-events/queue-events.js';
import { isStemThread } from '../core/worker/threads/thread-marker.js';
import { StemQueueEventsExplorer } from './stem-queue-events.explorer.js';
import { STEM_BROKER } from './stem.constants.js';

/**
 * Runs the `@OnQueueEvent()` handlers: once the app has bootstrapped, one {@link QueueEvents}
 * listener per queue on the module's broker, in every process (API and worker); closed before
 * shutdown, ahead of the adapters. A handler that throws is logged; the others still run.
 */
@Injectable()
export class StemQueueEventsHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Stem');
  private readonly listeners: QueueEvents[] = [];

  constructor(
    @Inject(STEM_BROKER) private readonly broker: Broker,
    private readonly explorer: StemQueueEventsExplorer,
  ) {}

  /** Queues this process listens to. */
  get queues(): string[] {
    return this.listeners.map((l) => l.queue);
  }

  async onApplicationBootstrap(): Promise<void> {
    const handlers = this.explorer.list();
    // NOTE: a pool thread boots the app only for its providers; the main thread listens.
    if (handlers.length === 0 || isStemThread()) return;
    if (!hasBroadcast(this.broker)) {
      throw new ConfigurationError(
        'broker',
        `the "${this.broker.name}" broker has no broadcast capability, so @OnQueueEvent() ${handlers.map((h) => h.source).join(', ')} cannot listen; use a broker that has it (memory, redis, postgres)`,
      );
    }
    const byQueue = new Map<string, QueueEvents>();
    for (const handler of handlers) {
      let listener = byQueue.get(handler.queue);
      if (!listener) {
        listener = new QueueEvents(handler.queue, this.broker);
        byQueue.set(handler.queue, listener);
      }
      const call = async (event: QueueEvent) => {
        try {
          await handler.handle(event);
        } catch (error) {
          this.logger.error(
            `@OnQueueEvent() ${handler.source} failed for "${event.name}" on queue "${event.queue}": ${(error as Error)?.message ?? error}`,
            (error as Error)?.stack,
          );
        }
      };
      if (handler.name === undefined) listener.onAny(call);
      else listener.on(handler.name, call);
    }
    try {
      for (const listener of byQueue.values()) {
        this.listeners.push(listener);
        await listener.start();
      }
    } catch (error) {
      // NOTE: a store down at boot: close the listeners already subscribed before failing the bootstrap.
      await this.beforeApplicationShutdown();
      throw error;
    }
    this.logger.log(`Listening to queue events on [${this.queues.join(', ')}] (${handlers.map((h) => h.source).join(', ')})`);
  }

  /** Closes every listener (idempotent); `app.close()` does it. */
  async beforeApplicationShutdown(): Promise<void> {
    for (const listener of this.listeners.splice(0)) await listener.close().catch(() => undefined);
  }
}
