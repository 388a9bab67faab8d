import { StemError } from './stem.error.js';

function listed(known: readonly string[]): string {
  return known.length ? `${known.slice(0, 20).join(', ')}${known.length > 20 ? ', ...' : ''}` : '';
}

/**
 * A task name is not registered in the registry asked to resolve it, or a producer that knows its
 * tasks was asked to enqueue a name it does not know (see {@link UnknownTaskError.forEnqueue}).
 */
export class UnknownTaskError extends StemError {
  /** The names the registry (and, for a producer, its declared remote tasks) knows. */
  readonly known: readonly string[];

  constructor(
    readonly taskName: string,
    known: readonly string[] = [],
    message?: string,
  ) {
    const hint = known.length ? ` Registered tasks: ${listed(known)}.` : '';
    super('STEM_UNKNOWN_TASK', message ?? `Task "${taskName}" is not registered. Decorate a provider method with @Task({ name: '${taskName}' }) or register a TaskHandler.${hint}`);
    this.known = known;
  }

  /**
   * The error a producer throws for a name it cannot check: nothing was enqueued.
   * @param known the local handlers' names and the declared remote tasks
   */
  static forEnqueue(taskName: string, known: readonly string[]): UnknownTaskError {
    return new UnknownTaskError(
      taskName,
      known,
      `Cannot enqueue task "${taskName}": this producer knows no such task (known tasks: ${listed(known) || 'none'}), so nothing was enqueued. ` +
        `Fix the name, or, when another process runs it, declare it with remoteTasks: ['${taskName}'] (a name or a defineTask() definition); ` +
        'set allowUnknownTasks: true to accept any name unchecked.',
    );
  }
}
