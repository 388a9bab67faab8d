import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import type { ArgsType, TaskHandler, TaskRegistry } from '../core/task-handler.js';
import type { TaskContext } from '../core/task-context.js';
import { Schedules, type ScheduleSpecInput } from '../core/beat/schedule-spec.js';
import { ConfigurationError } from '../core/errors/configuration.error.js';
import type { ScheduleDecoratorOptions } from './decorators/schedule.decorator.js';
import type { TaskArgsValidator } from '../core/args-validator.js';
import type { TaskDecoratorOptions } from './decorators/task.decorator.js';
import type { WorkflowDecoratorOptions } from './decorators/workflow.decorator.js';
import { StemMetadataAccessor } from './stem-metadata.accessor.js';
import { StemScheduleDefinitions } from './stem-schedule.definitions.js';
import { STEM_ARGS_VALIDATOR } from './stem-validation.provider.js';
import { buildWorkflowDefinition, type WorkflowStepMethod } from './stem-workflow.builder.js';
import { StemWorkflowDefinitions } from './stem-workflow.definitions.js';
import { STEM_TASK_REGISTRY } from './stem.constants.js';

const NOT_DTO: ReadonlySet<unknown> = new Set([Object, String, Number, Boolean, Array, Promise, Function, Symbol, BigInt, Map, Set, Date, undefined]);

/** The first parameter's declared type, when it is a class usable as a DTO. */
function declaredArgsType(prototype: object, methodName: string): ArgsType | undefined {
  const params = Reflect.getMetadata('design:paramtypes', prototype, methodName) as unknown[] | undefined;
  const first = params?.[0];
  return typeof first === 'function' && !NOT_DTO.has(first) ? (first as ArgsType) : undefined;
}

/**
 * Finds `@Task()` and `@Schedule()` methods and `@Workflow()` classes on providers at module
 * init: tasks go into the task registry, schedules into the schedule definitions, workflows into
 * the workflow definitions. Finding only: running them is the worker's, Beat's and the workflow
 * runtime's job.
 */
@Injectable()
export class StemExplorer implements OnModuleInit {
  private readonly logger = new Logger('Stem');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly metadata: StemMetadataAccessor,
    @Inject(STEM_TASK_REGISTRY) private readonly registry: TaskRegistry,
    private readonly schedules: StemScheduleDefinitions,
    private readonly workflows: StemWorkflowDefinitions,
    @Inject(STEM_ARGS_VALIDATOR) private readonly argsValidator: TaskArgsValidator | null,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) this.explore(wrapper);
  }

  private explore(wrapper: InstanceWrapper): void {
    const { instance } = wrapper;
    if (!instance || typeof instance !== 'object') return;
    const prototype = Object.getPrototypeOf(instance) as object | null;
    if (!prototype) return;
    const workflow = this.metadata.getWorkflowMetadata((instance as object).constructor);
    if (workflow) this.exploreWorkflow(wrapper, prototype, workflow);
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const method = (prototype as Record<string, unknown>)[methodName];
      if (typeof method !== 'function') continue;
      const options = this.metadata.getTaskMetadata(method);
      const schedules = this.metadata.getScheduleMetadata(method);
      if (!options && schedules.length === 0) continue;
      const className = (instance as object).constructor?.name ?? wrapper.name?.toString() ?? 'anonymous';
      if (!wrapper.isDependencyTreeStatic()) {
        this.logger.warn(
          `@Task() ${className}.${methodName} is on a request-scoped provider and was not registered; tasks run outside any request, so make ${className} a singleton.`,
        );
        continue;
      }
      const source = `${className}.${methodName}`;
      let taskName: string | undefined;
      if (options) {
        const handler = this.toHandler(instance as Record<string, Function>, className, methodName, options, prototype);
        this.registry.register(handler);
        taskName = handler.name;
      }
      for (const schedule of schedules) this.addSchedule(schedule, taskName, source);
    }
  }

  private exploreWorkflow(wrapper: InstanceWrapper, prototype: object, options: WorkflowDecoratorOptions): void {
    const instance = wrapper.instance as object;
    const className = instance.constructor?.name ?? wrapper.name?.toString() ?? 'anonymous';
    if (!wrapper.isDependencyTreeStatic()) {
      this.logger.warn(`@Workflow() ${className} is a request-scoped provider and was not registered; workflows run outside any request, so make ${className} a singleton.`);
      return;
    }
    if (!options?.name) throw new ConfigurationError('workflow', `@Workflow() on ${className} needs a name, e.g. @Workflow({ name: 'orders.fulfil' })`);
    const steps: WorkflowStepMethod[] = [];
    for (const method of this.scanner.getAllMethodNames(prototype)) {
      const fn = (prototype as Record<string, unknown>)[method];
      const step = typeof fn === 'function' ? this.metadata.getStepMetadata(fn) : undefined;
      if (step) steps.push({ method, options: step });
    }
    const definition = buildWorkflowDefinition({ instance, className, options, steps, validator: this.argsValidator });
    this.workflows.add({ definition, options, source: className });
  }

  private addSchedule(schedule: ScheduleDecoratorOptions, taskName: string | undefined, source: string): void {
    const task = schedule.task ?? taskName;
    if (!task) {
      throw new ConfigurationError('schedule', `@Schedule({ id: '${schedule.id}' }) on ${source} has no task: put it on a @Task() method or set its "task" option`);
    }
    const { id, every, startAt, endAt, cron, solar, at, timezone, args, jitter, enabled, options, description } = schedule;
    const kinds: ScheduleSpecInput[] = [];
    if (every !== undefined) kinds.push(Schedules.every(every, { ...(startAt !== undefined ? { startAt } : {}), ...(endAt !== undefined ? { endAt } : {}) }));
    if (cron !== undefined) kinds.push(Schedules.cron(cron));
    if (solar !== undefined) kinds.push(Schedules.solar(solar.event, solar.latitude, solar.longitude, solar.offset !== undefined ? { offset: solar.offset } : {}));
    if (at !== undefined) kinds.push(Schedules.at(at));
    if (kinds.length !== 1) {
      throw new ConfigurationError('schedule', `@Schedule({ id: '${id}' }) on ${source} must set exactly one of every, cron, solar, at (found ${kinds.length})`);
    }
    this.schedules.add(
      {
        id,
        task,
        schedule: kinds[0]!,
        ...(args !== undefined ? { args } : {}),
        ...(options !== undefined ? { options } : {}),
        ...(timezone !== undefined ? { timezone } : {}),
        ...(jitter !== undefined ? { jitter } : {}),
        ...(enabled !== undefined ? { enabled } : {}),
        ...(description !== undefined ? { description } : {}),
      },
      source,
    );
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
