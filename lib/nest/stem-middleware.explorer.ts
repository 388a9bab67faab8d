import { Inject, Injectable, Logger, type OnModuleInit, type Type } from '@nestjs/common';
import { DiscoveryService, ModuleRef } from '@nestjs/core';
import { ConfigurationError } from '../core/errors/configuration.error.js';
import type { StemMiddleware } from '../core/middleware/stem-middleware.js';
import type { Stem } from '../core/stem.js';
import type { StemModuleOptions } from './interfaces/stem-module-options.interface.js';
import { StemMetadataAccessor } from './stem-metadata.accessor.js';
import { STEM_PRODUCER } from './stem.constants.js';
import { STEM_MODULE_OPTIONS } from './stem.module-definition.js';

const HOOKS = ['onEnqueue', 'onConsume', 'onExecute', 'onError'] as const;

function hasHook(candidate: object): boolean {
  return HOOKS.some((hook) => typeof (candidate as Record<string, unknown>)[hook] === 'function');
}

/**
 * Finds Stem middleware at module init and adds it to the producer's chain (which the worker
 * uses too): first the module's `middleware` option in its order (classes resolved through DI),
 * then `@StemMiddleware()` providers by their `order`, then in registration order. A class
 * found both ways is used once, at its place in the option.
 */
@Injectable()
export class StemMiddlewareExplorer implements OnModuleInit {
  private readonly logger = new Logger('Stem');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly moduleRef: ModuleRef,
    private readonly metadata: StemMetadataAccessor,
    @Inject(STEM_MODULE_OPTIONS) private readonly options: StemModuleOptions,
    @Inject(STEM_PRODUCER) private readonly producer: Stem,
  ) {}

  async onModuleInit(): Promise<void> {
    const listed: StemMiddleware[] = [];
    for (const entry of this.options.middleware ?? []) listed.push(typeof entry === 'function' ? await this.resolve(entry) : entry);
    const seen = new Set<unknown>(listed.map((m) => (m as object).constructor));
    const discovered: { middleware: StemMiddleware; order: number; index: number }[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as object | undefined;
      if (!instance || typeof instance !== 'object') continue;
      const options = this.metadata.getMiddlewareMetadata(instance.constructor);
      if (!options || seen.has(instance.constructor)) continue;
      const className = instance.constructor.name;
      if (!wrapper.isDependencyTreeStatic()) {
        this.logger.warn(`@StemMiddleware() ${className} is request-scoped and was not used; middleware runs outside any request, so make ${className} a singleton.`);
        continue;
      }
      if (!hasHook(instance)) throw new ConfigurationError('middleware', `@StemMiddleware() ${className} has none of ${HOOKS.join(', ')}; add one or remove the decorator`);
      seen.add(instance.constructor);
      discovered.push({ middleware: instance as StemMiddleware, order: options.order ?? 0, index: discovered.length });
    }
    discovered.sort((a, b) => a.order - b.order || a.index - b.index);
    this.producer.middleware.use(...listed, ...discovered.map((d) => d.middleware));
  }

  /** The provider of `type` when the app has one, else an instance created with its dependencies injected. */
  private async resolve(type: Type<StemMiddleware>): Promise<StemMiddleware> {
    let instance: StemMiddleware;
    try {
      instance = this.moduleRef.get(type, { strict: false });
    } catch {
      try {
        instance = await this.moduleRef.create(type);
      } catch (error) {
        throw new ConfigurationError(
          'middleware',
          `${type.name} in the module's middleware option could not be created (${(error as Error).message}); add ${type.name} to your module's providers so its dependencies resolve there`,
        );
      }
    }
    if (!hasHook(instance)) throw new ConfigurationError('middleware', `${type.name} in the module's middleware option has none of ${HOOKS.join(', ')}`);
    return instance;
  }
}
