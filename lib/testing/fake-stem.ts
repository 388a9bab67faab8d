import type { Provider } from '@nestjs/common';
import type { TaskError, TaskState, TaskStatus } from '../core/envelope.js';
import type { EnqueueCall, EnqueueOutcome } from '../core/stem.js';
import type { EnqueueOptions } from '../core/task-options.js';
import type { TaskResult, WaitOptions } from '../core/task-result.js';
import { enqueueScopeMeta, withEnqueueMeta } from '../core/routing/enqueue-scope.js';
import { StemSignals } from '../core/signals/stem-signals.js';
import { uuidv7 } from '../core/utils/uuid.js';
import { StemClient } from '../nest/stem.client.js';

/** One call recorded by {@link FakeStem}. */
export interface RecordedEnqueue {
  readonly id: string;
  readonly name: string;
  readonly args: unknown;
  readonly options: EnqueueOptions;
}

/**
 * A stand-in for {@link StemClient} in unit tests: records enqueues instead of publishing, and
 * lets the test decide how tasks end.
 *
 * @example
 * const fake = new FakeStem();
 * const moduleRef = await Test.createTestingModule({
 *   controllers: [EmailController],
 *   providers: [fake.provider()],
 * }).compile();
 * await moduleRef.get(EmailController).send({ to: 'a@b.c' });
 * expect(fake.enqueued('email.send')).toHaveLength(1);
 * fake.succeed(fake.enqueued()[0].id, { delivered: true });
 */
export class FakeStem implements Pick<StemClient, 'enqueue' | 'enqueueMany' | 'enqueueManySettled' | 'waitForTask' | 'getTaskStatus' | 'withMeta' | 'signals'> {
  /** A real signal hub: code under test subscribes as usual, and the test emits what it needs (`fake.signals.emit('task-failed', ...)`). */
  readonly signals = new StemSignals();
  private readonly calls: RecordedEnqueue[] = [];
  private readonly statuses = new Map<string, TaskStatus>();

  /** A Nest provider replacing `StemClient` with this fake. */
  provider(): Provider {
    return { provide: StemClient, useValue: this };
  }

  /** Like `StemClient.withMeta`: enqueues recorded inside carry the scope's meta in `options.meta`. */
  withMeta<T>(meta: Readonly<Record<string, unknown>>, fn: () => T): T {
    return withEnqueueMeta(meta, fn);
  }

  async enqueue(name: string, args: unknown = {}, options: EnqueueOptions = {}): Promise<string> {
    const id = options.taskId ?? uuidv7();
    const scope = enqueueScopeMeta();
    this.calls.push({ id, name, args, options: scope ? { ...options, meta: { ...scope, ...options.meta } } : options });
    this.write(id, name, 'queued', {});
    return id;
  }

  async enqueueMany(calls: readonly EnqueueCall[]): Promise<string[]> {
    const ids: string[] = [];
    for (const call of calls) ids.push(await this.enqueue(call.name, call.args, call.options));
    return ids;
  }

  /** Like `enqueueMany`, reporting each call as `{ ok: true, id }` (the fake refuses nothing). */
  async enqueueManySettled(calls: readonly EnqueueCall[]): Promise<EnqueueOutcome[]> {
    return (await this.enqueueMany(calls)).map((id) => ({ ok: true, id }));
  }

  /** Recorded enqueues, optionally only those of one task name, in call order. */
  enqueued(name?: string): readonly RecordedEnqueue[] {
    return name ? this.calls.filter((c) => c.name === name) : [...this.calls];
  }

  /** Forgets every recorded call and status. */
  clear(): void {
    this.calls.length = 0;
    this.statuses.clear();
  }

  /** Marks a task succeeded with `value`. */
  succeed(id: string, value?: unknown): void {
    this.write(id, undefined, 'succeeded', { payload: value });
  }

  /** Marks a task failed with `error`. */
  fail(id: string, error: Error | string): void {
    const e = typeof error === 'string' ? new Error(error) : error;
    const taskError: TaskError = { type: e.name, message: e.message, retryable: false };
    this.write(id, undefined, 'failed', { error: taskError });
  }

  async getTaskStatus<TResult = unknown>(id: string): Promise<TaskStatus<TResult> | null> {
    return (this.statuses.get(id) as TaskStatus<TResult> | undefined) ?? null;
  }

  /** Resolves at once with the status the test set; `timedOut` unless it is terminal. */
  async waitForTask<TResult = unknown>(id: string, _options?: WaitOptions): Promise<TaskResult<TResult>> {
    const status = (this.statuses.get(id) as TaskStatus<TResult> | undefined) ?? null;
    const terminal = status?.state === 'succeeded' || status?.state === 'failed' || status?.state === 'cancelled';
    return { taskId: id, status, timedOut: !terminal, ...(status?.state === 'succeeded' ? { value: status.payload as TResult } : {}) };
  }

  private write(id: string, name: string | undefined, state: TaskState, extra: Partial<TaskStatus>): void {
    const previous = this.statuses.get(id);
    const now = Date.now();
    this.statuses.set(id, {
      id,
      state,
      attempt: 0,
      meta: {},
      name: name ?? previous?.name,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
      ...extra,
    });
  }
}
