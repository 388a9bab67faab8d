import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { OnQueueEventMetadata } from './decorators/on-queue-event.decorator.js';
import type { ScheduleDecoratorOptions } from './decorators/schedule.decorator.js';
import type { StemMiddlewareOptions } from './decorators/stem-middleware.decorator.js';
import type { StepDecoratorOptions } from './decorators/step.decorator.js';
import type { TaskDecoratorOptions } from './decorators/task.decorator.js';
import type { WorkflowDecoratorOptions } from './decorators/workflow.decorator.js';
import { STEM_MIDDLEWARE_METADATA, STEM_QUEUE_EVENT_METADATA, STEM_SCHEDULE_METADATA, STEM_STEP_METADATA, STEM_TASK_METADATA, STEM_WORKFLOW_METADATA } from './stem.constants.js';

/** Reads the metadata Stem's decorators write. */
@Injectable()
export class StemMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  /** `@Task()` options of a method, or `undefined`. */
  getTaskMetadata(target: Function): TaskDecoratorOptions | undefined {
    return this.reflector.get<TaskDecoratorOptions | undefined>(STEM_TASK_METADATA, target);
  }

  /** `@Schedule()` options of a method, in declaration order (empty when none). */
  getScheduleMetadata(target: Function): readonly ScheduleDecoratorOptions[] {
    return this.reflector.get<ScheduleDecoratorOptions[] | undefined>(STEM_SCHEDULE_METADATA, target) ?? [];
  }

  /** `@Workflow()` options of a class, or `undefined`. */
  getWorkflowMetadata(target: Function): WorkflowDecoratorOptions | undefined {
    return this.reflector.get<WorkflowDecoratorOptions | undefined>(STEM_WORKFLOW_METADATA, target);
  }

  /** `@Step()` options of a method, or `undefined`. */
  getStepMetadata(target: Function): StepDecoratorOptions | undefined {
    return this.reflector.get<StepDecoratorOptions | undefined>(STEM_STEP_METADATA, target);
  }

  /** `@OnQueueEvent()` registrations of a method, in declaration order (empty when none). */
  getQueueEventMetadata(target: Function): readonly OnQueueEventMetadata[] {
    return this.reflector.get<OnQueueEventMetadata[] | undefined>(STEM_QUEUE_EVENT_METADATA, target) ?? [];
  }

  /** `@StemMiddleware()` options of a class, or `undefined`. */
  getMiddlewareMetadata(target: Function): StemMiddlewareOptions | undefined {
    return this.reflector.get<StemMiddlewareOptions | undefined>(STEM_MIDDLEWARE_METADATA, target);
  }
}
