import type { ResourceLimits } from 'node:worker_threads';

/** The thread pool of a Nest worker (`worker.threads`), for `@Task({ runIn: 'thread' })` methods. */
export interface StemThreadOptions {
  /** Threads at most. @default os.availableParallelism() */
  readonly size?: number;
  /** A thread is replaced after this many tasks. @default unlimited */
  readonly maxTasksPerThread?: number;
  /** A thread whose V8 heap is above this many MB after a task is replaced. @default unlimited */
  readonly maxMemoryMb?: number;
  /** A thread idle this many ms is stopped and started again when work comes. @default never */
  readonly idleTimeout?: number;
  /**
   * The module each thread boots. Found by itself when the file that calls
   * `StemModule.forRoot()`/`forRootAsync()` exports the module that imports it (the usual
   * `app.module.ts`); name it when `forRoot()` is called elsewhere (a helper returning the
   * dynamic module, a bundle) or when that file exports several modules importing Stem.
   * `file` is an absolute path or `file:` URL of the compiled module.
   */
  readonly module?: { readonly file: string; readonly export?: string };
  /** Node options of the threads (e.g. a TypeScript loader in development). @default the process's `execArgv` */
  readonly execArgv?: readonly string[];
  /** V8 heap limits of each thread; a thread past them dies and its task fails with `ThreadExitedError`. */
  readonly resourceLimits?: ResourceLimits;
}
