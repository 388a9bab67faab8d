import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import type { ArgsType, TaskHandler, TaskRegistry } from './core/task-handler.js';
import type { TaskContext } from './core/task-context.js';
import type { TaskDecoratorOptions } from './decorators/task.decorator.js';
import { StemMetadataAccessor } from './stem-metadata.accessor.js';
import { STEM_TASK_REGISTRY } from './stem.constants.js';

const NOT_DTO: ReadonlySet<unknown> = new Set([Object, String, Number, Boolean, Array, Promise, Function, Symbol, BigInt, Map, Set, Date, undefined]);

/** The first parameter's declared type, when it is a class usable as a DTO. */
function declaredArgsType(prototype: object, methodName: string): ArgsType | undefined {
  const params = Reflect.getMetadata('design:paramtypes', prototype, methodName) as unknown[] | undefined;
  const first = params?.[0];
  return typeof first === 'function' && !NOT_DTO.has(first) ? (first as ArgsType) : undefined;
}

/**
 * Finds `@Task()` methods on providers at module init and registers them as task handlers.
 * Finding only: running them is the worker's job.
 */
@Injectable()
export class StemExplorer implements OnModuleInit {
  private readonly logger = new Logger('Stem');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly metadata: StemMetadataAccessor,
    @Inject(STEM_TASK_REGISTRY) private readonly registry: TaskRegistry,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) this.explore(wrapper);
  }

  private explore(wrapper: InstanceWrapper): void {
    const { instance } = wrapper;
    if (!instance || typeof instance !== 'object') return;
    const prototype = Object.getPrototypeOf(instance) as object | null;
    if (!prototype) return;
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const method = (prototype as Record<string, unknown>)[methodName];
      if (typeof method !== 'function') continue;
      const options = this.metadata.getTaskMetadata(method);
      if (!options) continue;
      const className = (instance as object).constructor?.name ?? wrapper.name?.toString() ?? 'anonymous';
      if (!wrapper.isDependencyTreeStatic()) {
        this.logger.warn(`@Task() ${className}.${methodName} is on a request-scoped provider and was not registered; tasks run outside any request, so make ${className} a singleton.`);
        continue;
      }
      this.registry.register(this.toHandler(instance as Record<string, Function>, className, methodName, options, prototype));
    }
  }

  private toHandler(instance: Record<string, Function>, className: string, methodName: string, options: TaskDecoratorOptions, prototype: object): TaskHandler {
    const { name, args, ...taskOptions } = options;
    const fn = instance[methodName]!;
    return {
      name: name ?? `${className}.${methodName}`,
      options: taskOptions,
      argsType: args ?? declaredArgsType(prototype, methodName),
      source: `${className}.${methodName}`,
      call: (ctx: TaskContext, taskArgs: unknown) => fn.call(instance, taskArgs, ctx),
    };
  }
}
