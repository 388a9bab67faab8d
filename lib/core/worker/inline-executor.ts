import { TimeLimitExceededError } from '../errors/time-limit-exceeded.error.js';
import { type Clock, systemClock, type TimerHandle } from '../utils/clock.js';
import type { TaskExecutor, TaskRun } from './task-executor.js';

/**
 * Runs handlers in the worker's own thread (the default executor, `inline`). The soft time limit
 * aborts `ctx.signal`; the hard time limit aborts it too and fails the attempt at once, freeing
 * its slot, though the handler's code may still run to its end in the background.
 */
export class InlineExecutor implements TaskExecutor {
  /** @param clock @default systemClock */
  constructor(private readonly clock: Clock = systemClock) {}

  run(run: TaskRun): Promise<unknown> {
    const soft = run.softTimeLimit;
    const hard = run.hardTimeLimit;
    const call = callHandler(run);
    if (soft === undefined && hard === undefined) return call;
    const timers: TimerHandle[] = [];
    if (soft !== undefined) timers.push(this.clock.setTimeout(() => run.softTimeout(), soft));
    const racers: Promise<unknown>[] = [call];
    if (hard !== undefined) {
      racers.push(
        new Promise((_, reject) => {
          timers.push(
            this.clock.setTimeout(() => {
              const error = new TimeLimitExceededError(run.envelope.name, hard);
              run.abort(error);
              reject(error);
            }, hard),
          );
        }),
      );
      // NOTE: the abandoned handler promise may still reject later; keep it from becoming unhandled.
      call.catch(() => undefined);
    }
    return Promise.race(racers).finally(() => timers.forEach((t) => t.cancel()));
  }
}

/**
 * The handler's result as a promise (a synchronous throw becomes a rejection), without an async
 * wrapper per call: most handlers return a native promise already.
 */
function callHandler(run: TaskRun): Promise<unknown> {
  try {
    const result: unknown = run.handler.call(run.context, run.args);
    return result instanceof Promise ? result : Promise.resolve(result);
  } catch (error) {
    return Promise.reject(error);
  }
}
