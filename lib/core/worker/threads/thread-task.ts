import { ConfigurationError } from '../../errors/configuration.error.js';
import type { TaskHandler } from '../../task-handler.js';
import type { TaskOptions } from '../../task-options.js';
import { THREAD_EXECUTOR } from './thread-executor.js';

/** What {@link threadTask} needs. */
export interface ThreadTaskDefinition {
  /** Task name. */
  readonly name: string;
  /**
   * Module holding the handler: an absolute path or `file:` URL, e.g.
   * `new URL('./resize.task.js', import.meta.url).href`.
   */
  readonly file: string;
  /** Name of its export: `(args, ctx) => result`. */
  readonly export: string;
  /** Task options; `runIn` is `'thread'`. */
  readonly options?: Omit<TaskOptions, 'runIn'>;
}

/**
 * A task whose handler runs in a pool thread of the worker's `thread` executor
 * ({@link ThreadExecutor}): each thread imports `file` once and calls its `export` with the
 * args (structured-cloned) and a `ctx` that works as inline.
 *
 * @example
 * registry.register(threadTask({ name: 'pdf.render', file: new URL('./render.js', import.meta.url).href, export: 'render', options: { hardTimeLimit: 30_000 } }));
 */
export function threadTask(definition: ThreadTaskDefinition): TaskHandler {
  if (!definition.file || !definition.export) {
    throw new ConfigurationError('threadTask', `task "${definition.name}" needs "file" (a path or file: URL) and "export" (the handler's export name)`);
  }
  const target = { file: definition.file, export: definition.export };
  return {
    name: definition.name,
    options: { ...definition.options, runIn: THREAD_EXECUTOR },
    source: `${definition.file}#${definition.export}`,
    thread: target,
    call: () => {
      throw new ConfigurationError('runIn', `task "${definition.name}" runs only in a thread; give the worker a ThreadExecutor as executors.thread`);
    },
  };
}
