import { MiddlewareError } from '../errors/middleware.error.js';
import { WorkerShutdownError } from '../errors/worker-shutdown.error.js';
import type { TaskRun } from '../worker/task-executor.js';
import type { RunDecision, WorkerExtension } from '../worker/worker-extension.js';
import { keepsMeaning, type StemMiddlewareChain } from './middleware-chain.js';

/**
 * The worker face of middleware, as one {@link WorkerExtension}: `onConsume` is its `beforeRun`
 * (a throw fails the attempt), `onExecute` nests inside its `wrapRun`, and `onError` runs in the
 * same `wrapRun` when the attempt failed, before settlement decides between retry and dead letter.
 * Returns `undefined` when no middleware has a worker hook.
 *
 * @param report receives errors thrown by `onError` hooks (the worker's `worker-error`)
 */
export function middlewareExtension(chain: StemMiddlewareChain, report: (error: unknown) => void): WorkerExtension | undefined {
  const consumers = chain.having('onConsume');
  const executors = chain.having('onExecute');
  const onErrors = chain.having('onError');
  if (consumers.length + executors.length + onErrors.length === 0) return undefined;

  const failed = (name: string, hook: 'onConsume' | 'onExecute', run: TaskRun, error: unknown): unknown =>
    keepsMeaning(error) ? error : new MiddlewareError(name, hook, run.envelope.name, run.envelope.queue, error);

  const execute = (run: TaskRun, next: () => Promise<unknown>): Promise<unknown> => {
    const downstream = new Set<unknown>();
    const call = async (index: number): Promise<unknown> => {
      if (index === executors.length) return next();
      const { middleware, name } = executors[index]!;
      try {
        return await middleware.onExecute!(run, () =>
          call(index + 1).catch((error: unknown) => {
            downstream.add(error);
            throw error;
          }),
        );
      } catch (error) {
        if (downstream.has(error)) throw error;
        throw failed(name, 'onExecute', run, error);
      }
    };
    return call(0);
  };

  const notify = async (run: TaskRun, error: unknown): Promise<void> => {
    // NOTE: a shutdown puts the task back as it was; that is no failed attempt.
    if (run.signal.aborted && run.signal.reason instanceof WorkerShutdownError) return;
    for (const { middleware } of onErrors) {
      try {
        await middleware.onError!(run, error);
      } catch (hookError) {
        report(hookError);
      }
    }
  };

  return {
    name: 'middleware',
    ...(consumers.length
      ? {
          async beforeRun(run: TaskRun): Promise<RunDecision | undefined> {
            for (const { middleware, name } of consumers) {
              try {
                await middleware.onConsume!(run);
              } catch (error) {
                const cause = failed(name, 'onConsume', run, error);
                await notify(run, cause);
                return { action: 'fail', error: cause };
              }
            }
            return undefined;
          },
        }
      : {}),
    ...(executors.length || onErrors.length
      ? {
          async wrapRun(run: TaskRun, next: () => Promise<unknown>): Promise<unknown> {
            try {
              return await (executors.length ? execute(run, next) : next());
            } catch (error) {
              if (onErrors.length) await notify(run, error);
              throw error;
            }
          },
        }
      : {}),
  };
}
