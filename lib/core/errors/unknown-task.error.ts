import { StemError } from './stem.error.js';

/** A task name is not registered in the registry asked to resolve it. */
export class UnknownTaskError extends StemError {
  constructor(readonly taskName: string, known: readonly string[] = []) {
    const hint = known.length ? ` Registered tasks: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', ...' : ''}.` : '';
    super('STEM_UNKNOWN_TASK', `Task "${taskName}" is not registered. Decorate a provider method with @Task({ name: '${taskName}' }) or register a TaskHandler.${hint}`);
  }
}
