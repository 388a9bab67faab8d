import { DuplicateTaskError } from './errors/duplicate-task.error.js';
import type { TaskHandler, TaskRegistry } from './task-handler.js';

/**
 * A map-backed {@link TaskRegistry}.
 *
 * @example
 * const registry = new SimpleTaskRegistry([sendEmail, buildReport]);
 */
export class SimpleTaskRegistry implements TaskRegistry {
  private readonly handlers = new Map<string, TaskHandler>();

  constructor(handlers: Iterable<TaskHandler> = []) {
    for (const handler of handlers) this.register(handler);
  }

  register(handler: TaskHandler, options: { override?: boolean } = {}): void {
    const existing = this.handlers.get(handler.name);
    if (existing && !options.override) {
      throw new DuplicateTaskError(handler.name, existing.source, handler.source);
    }
    this.handlers.set(handler.name, handler);
  }

  get(name: string): TaskHandler | undefined {
    return this.handlers.get(name);
  }

  list(): readonly TaskHandler[] {
    return [...this.handlers.values()];
  }
}
