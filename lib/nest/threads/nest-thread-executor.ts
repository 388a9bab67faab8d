import { ConfigurationError } from '../../core/errors/configuration.error.js';
import type { TaskRegistry } from '../../core/task-handler.js';
import { THREAD_EXECUTOR, ThreadExecutor } from '../../core/worker/threads/thread-executor.js';
import type { StemThreadOptions } from '../interfaces/stem-thread-options.interface.js';
import type { StemThreadModuleRef } from './stem-thread-app.js';

/** The thread app booter next to this file: compiled `.js` in a build, `.ts` under a TypeScript loader. */
function bootFile(): string {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./stem-thread-app.${ext}`, import.meta.url).href;
}

/**
 * The `thread` executor of a Nest worker, or `undefined` when no task runs in a thread and
 * `worker.threads` is unset. Each thread boots the module named in `threads.module`, else the
 * module of the file that called `StemModule.forRoot()` (`moduleSource`).
 */
export function createNestThreadExecutor(threads: StemThreadOptions | undefined, registry: TaskRegistry, moduleSource: string | null | undefined): ThreadExecutor | undefined {
  const threadTasks = registry.list().filter((h) => h.options?.runIn === THREAD_EXECUTOR);
  if (!threads && threadTasks.length === 0) return undefined;
  const ref: StemThreadModuleRef | undefined = threads?.module ?? (moduleSource ? { file: moduleSource } : undefined);
  if (!ref) {
    const names = threadTasks.map((h) => h.name).join(', ');
    throw new ConfigurationError(
      'worker.threads.module',
      `tasks [${names}] run in threads, but the file calling StemModule.forRoot() is unknown; set worker.threads.module: { file, export } to the module threads boot`,
    );
  }
  const { module: _module, ...pool } = threads ?? {};
  return new ThreadExecutor({ ...pool, target: { kind: 'factory', file: bootFile(), export: 'bootStemThreadApp', data: ref } });
}
