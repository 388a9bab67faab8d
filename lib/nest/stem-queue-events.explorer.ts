import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import type { QueueEvent } from '../core/queue-events/queue-event.js';
import { StemMetadataAccessor } from './stem-metadata.accessor.js';

/** One `@OnQueueEvent()` method found at module init. */
export interface QueueEventHandlerDefinition {
  readonly queue: string;
  /** Event name, or `undefined` for every event of the queue. */
  readonly name?: string;
  /** `Class.method`, for logs and errors. */
  readonly source: string;
  /** Calls the method with `(payload, event)`. */
  readonly handle: (event: QueueEvent) => unknown;
}

/**
 * Finds `@OnQueueEvent()` methods on providers at module init. Finding only: the queue events
 * host subscribes them once the app has bootstrapped.
 */
@Injectable()
export class StemQueueEventsExplorer implements OnModuleInit {
  private readonly logger = new Logger('Stem');
  private readonly found: QueueEventHandlerDefinition[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly metadata: StemMetadataAccessor,
  ) {}

  /** Every handler found, in discovery order. */
  list(): readonly QueueEventHandlerDefinition[] {
    return this.found;
  }

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) this.explore(wrapper);
  }

  private explore(wrapper: InstanceWrapper): void {
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    if (!instance || typeof instance !== 'object') return;
    const prototype = Object.getPrototypeOf(instance) as object | null;
    if (!prototype) return;
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const method = (prototype as Record<string, unknown>)[methodName];
      if (typeof method !== 'function') continue;
      const registrations = this.metadata.getQueueEventMetadata(method);
      if (registrations.length === 0) continue;
      const source = `${instance.constructor?.name ?? wrapper.name?.toString() ?? 'anonymous'}.${methodName}`;
      if (!wrapper.isDependencyTreeStatic()) {
        this.logger.warn(`@OnQueueEvent() ${source} is on a request-scoped provider and was not subscribed; events arrive outside any request, so make it a singleton.`);
        continue;
      }
      const fn = instance[methodName] as (payload: unknown, event: QueueEvent) => unknown;
      for (const { queue, name } of registrations) {
        this.found.push({ queue, ...(name !== undefined ? { name } : {}), source, handle: (event) => fn.call(instance, event.payload, event) });
      }
    }
  }
}
