import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ScheduleDecoratorOptions } from './decorators/schedule.decorator.js';
import type { TaskDecoratorOptions } from './decorators/task.decorator.js';
import { STEM_SCHEDULE_METADATA, STEM_TASK_METADATA } from './stem.constants.js';

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
}
