import type { ResultBackend } from '../contracts/result-backend.js';
import type { TaskPayloadEncoderRegistry } from '../encoding/encoder-registry.js';
import { EncoderKeys } from '../encoding/task-payload-encoder.js';
import { isTerminalState, type TaskStatus } from '../envelope.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import type { TaskResult, WaitOptions } from '../task-result.js';

/** Longest delay a Node timer accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Fallback poll of `waitForTask` while the backend's watch is live. */
const WATCHED_POLL_MS = 5_000;
/** Poll of `waitForTask` when the backend's watch could not be established. */
const UNWATCHED_POLL_MS = 500;

/** Reads statuses from the result backend, decodes their payloads, and waits for terminal ones. */
export class ResultWaiter {
  constructor(
    private readonly backend: ResultBackend | undefined,
    private readonly encoders: TaskPayloadEncoderRegistry,
  ) {}

  /** The current status of a task, or `null`. */
  async getTaskStatus<TResult = unknown>(id: string): Promise<TaskStatus<TResult> | null> {
    const status = await this.requireBackend('getTaskStatus').get(id);
    return status ? this.decodeStatus<TResult>(status) : null;
  }

  /**
   * A status with its payload decoded by the encoder named in meta `__stemResultEncoder`.
   * @throws UnknownEncoderError when this process does not know that encoder
   */
  decodeStatus<TResult = unknown>(status: TaskStatus): TaskStatus<TResult> {
    const encoderId = status.meta[EncoderKeys.resultMeta];
    if (status.payload === undefined || typeof encoderId !== 'string') return status as TaskStatus<TResult>;
    const payload = this.encoders.decode(status.payload, encoderId, `result of task "${status.name ?? status.id}"`) as TResult;
    return { ...status, payload };
  }

  /**
   * Waits until a task reaches a terminal state (`succeeded`, `failed`, `cancelled`) or the
   * timeout passes. It watches the backend and polls slowly as a fallback.
   */
  async waitForTask<TResult = unknown>(id: string, options: WaitOptions = {}): Promise<TaskResult<TResult>> {
    const backend = this.requireBackend('waitForTask');
    const timeout = Math.min(options.timeout ?? 30_000, MAX_TIMER_MS);
    return new Promise<TaskResult<TResult>>((resolve, reject) => {
      let latest: TaskStatus | null = null;
      let done = false;
      let watch: { close(): Promise<void> } | undefined;
      let pollTimer: NodeJS.Timeout | undefined;
      const finish = (timedOut: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timeoutTimer);
        clearTimeout(pollTimer);
        options.signal?.removeEventListener('abort', onAbort);
        void watch?.close().catch(() => undefined);
        let status: TaskStatus<TResult> | null;
        try {
          status = latest ? this.decodeStatus<TResult>(latest) : null;
        } catch (error) {
          return reject(error);
        }
        resolve({ taskId: id, status, timedOut, ...(status?.state === 'succeeded' ? { value: status.payload as TResult } : {}) });
      };
      const observe = (status: TaskStatus | null) => {
        if (done || !status) return;
        if (!latest || status.updatedAt >= latest.updatedAt) latest = status;
        if (isTerminalState(status.state)) finish(false);
      };
      const onAbort = () => finish(true);
      const timeoutTimer = setTimeout(() => finish(true), timeout);
      if (options.signal?.aborted) return finish(true);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      // NOTE: the watch delivers updates; the poll only covers a watch that could not be set up
      // or a notification lost while reconnecting, so it runs rarely once the watch is live.
      const poll = (interval: number) => {
        if (done) return;
        backend
          .get(id)
          .then(observe, () => undefined)
          .finally(() => {
            if (!done) pollTimer = setTimeout(() => poll(interval), interval);
          });
      };
      backend.watch(id, observe).then(
        (w) => {
          watch = w;
          if (done) void w.close().catch(() => undefined);
          poll(options.pollInterval ?? WATCHED_POLL_MS);
        },
        () => poll(options.pollInterval ?? UNWATCHED_POLL_MS),
      );
    });
  }

  /** The backend, or a {@link ConfigurationError} naming the method that needs it. */
  requireBackend(method: string): ResultBackend {
    if (!this.backend) throw new ConfigurationError('backend', `${method}() needs a result backend; pass { backend } to new Stem() or set "backend" in StemModule.forRoot()`);
    return this.backend;
  }
}
