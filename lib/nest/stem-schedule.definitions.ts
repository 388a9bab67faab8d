import { Injectable } from '@nestjs/common';
import type { ScheduleInput } from '../core/beat/stem-scheduler.js';
import { ConfigurationError } from '../core/errors/configuration.error.js';

/** Schedule entries declared in code with `@Schedule()`, collected at module init. */
@Injectable()
export class StemScheduleDefinitions {
  private readonly entries = new Map<string, { input: ScheduleInput; source: string }>();

  /**
   * Adds a definition.
   * @throws ConfigurationError when another method already declared this schedule id
   */
  add(input: ScheduleInput, source: string): void {
    const existing = this.entries.get(input.id);
    if (existing) {
      throw new ConfigurationError('schedule', `schedule id "${input.id}" is declared twice (${existing.source} and ${source}); schedule ids must be unique`);
    }
    this.entries.set(input.id, { input, source });
  }

  /** Every definition, in discovery order. */
  list(): ScheduleInput[] {
    return [...this.entries.values()].map((e) => e.input);
  }
}
