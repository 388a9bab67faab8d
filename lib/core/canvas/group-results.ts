import type { TaskError } from '../envelope.js';
import type { GroupMemberResult, GroupStore } from './group-store.js';
import { GroupNotFoundError } from './group-not-found.error.js';
import { GroupResultsTimeoutError } from './group-results-timeout.error.js';

/** Options of `group.results()` and `canvas.groupResults()`. */
export interface GroupResultsOptions {
  /** Give up after this many ms with a {@link GroupResultsTimeoutError}. @default 30000 */
  readonly timeout?: number;
  /** Ms between two reads of the group store while members are still running. @default the canvas `pollInterval` (50) */
  readonly pollInterval?: number;
  /** Ends the iteration quietly when aborted. */
  readonly signal?: AbortSignal;
}

/** One finished member of a group, as `group.results()` yields it. */
export interface GroupResultItem<T> {
  /** 0-based position of the member in the body. */
  readonly index: number;
  readonly taskId: string;
  /** `succeeded`, `failed` or `cancelled`. */
  readonly state: GroupMemberResult['state'];
  /** Decoded result when the member succeeded. */
  readonly value?: T;
  /** Error of a failed or cancelled member. */
  readonly error?: GroupMemberResult['error'];
  /** Epoch ms when the worker recorded the outcome. */
  readonly completedAt?: number;
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Yields the members of a group as they finish, in completion order (the order the workers
 * recorded them; members already finished when the iteration starts come first, oldest first),
 * each exactly once, until every member finished. Failed and cancelled members are yielded with
 * their `state` and `error`; they never make the iteration throw. It reads the shared group
 * store, so members finished by workers in other processes arrive too.
 *
 * @throws GroupNotFoundError when the group is unknown or expired
 * @throws GroupResultsTimeoutError when `timeout` passes first
 */
export async function* groupResults<T>(
  store: GroupStore,
  groupId: string,
  decode: (result: GroupMemberResult) => T | undefined,
  options: GroupResultsOptions & { readonly pollInterval: number },
): AsyncGenerator<GroupResultItem<T>, void, undefined> {
  const timeout = options.timeout ?? 30_000;
  const deadline = Date.now() + timeout;
  const yielded = new Set<number>();
  for (;;) {
    if (options.signal?.aborted) return;
    const status = await store.getGroup(groupId);
    if (!status) throw new GroupNotFoundError(groupId);
    const fresh: { index: number; result: GroupMemberResult }[] = [];
    status.results.forEach((result, index) => {
      if (result && !yielded.has(index)) fresh.push({ index, result });
    });
    // NOTE: members recorded between two reads come out in the order their workers recorded them.
    fresh.sort((a, b) => (a.result.completedAt ?? Infinity) - (b.result.completedAt ?? Infinity) || a.index - b.index);
    for (const { index, result } of fresh) {
      yielded.add(index);
      // NOTE: a member whose result cannot be decoded here is yielded as failed with the reason;
      // it never ends the loop for the members after it.
      let value: T | undefined;
      let undecodable: TaskError | undefined;
      try {
        value = result.state === 'succeeded' ? decode(result) : undefined;
      } catch (error) {
        undecodable = {
          type: 'ResultDecodeError',
          message: `result of task ${result.taskId} could not be decoded: ${(error as Error)?.message ?? String(error)}`,
          retryable: false,
        };
      }
      yield {
        index,
        taskId: result.taskId,
        state: undecodable ? 'failed' : result.state,
        ...(value !== undefined ? { value } : {}),
        ...(undecodable ? { error: undecodable } : result.error ? { error: result.error } : {}),
        ...(result.completedAt !== undefined ? { completedAt: result.completedAt } : {}),
      };
      if (options.signal?.aborted) return;
    }
    if (yielded.size >= status.expected) return;
    const now = Date.now();
    if (now >= deadline) throw new GroupResultsTimeoutError(groupId, yielded.size, status.expected, timeout);
    await pause(Math.min(options.pollInterval, deadline - now), options.signal);
  }
}
