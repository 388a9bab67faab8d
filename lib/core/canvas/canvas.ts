import { StemHeaders } from '../envelope.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import type { EnqueueCall, TaskProducer } from '../contracts/producer.js';
import type { EnqueueOptions } from '../task-options.js';
import type { TaskResult, WaitOptions } from '../task-result.js';
import { uuidv7 } from '../utils/uuid.js';
import { StemSpanAttributes } from '../observability/span-attributes.js';
import { CanvasMeta } from './canvas.constants.js';
import { type BatchOptions, type BatchStatus, type BatchSubmission, CanvasBatches } from './canvas-batches.js';
import type { GroupMemberResult, GroupStatus, GroupStore } from './group-store.js';
import { type GroupResultItem, groupResults, type GroupResultsOptions } from './group-results.js';
import { serializeTaskCall } from './task-call.serializer.js';
import { task, type TaskSignature } from './task-signature.js';

/** Options of {@link Canvas}. */
export interface CanvasOptions {
  /** Group and chord state. @default the Stem's `groupStore` */
  readonly groupStore?: GroupStore;
  /** Ms groups live. @default 86400000 (1 day) */
  readonly groupTtl?: number;
  /** Poll interval in ms while waiting for a group. @default 50 */
  readonly pollInterval?: number;
  /**
   * Ms a batch submission holds the batch's dispatch claim: if it dies before publishing the
   * members, a later submission with the same id publishes them once the claim lapsed. @default 60000
   */
  readonly batchClaimTimeout?: number;
}

/** One member of a {@link GroupResult}. */
export interface GroupMemberView<T> {
  readonly taskId: string;
  readonly state: GroupMemberResult['state'];
  /** Decoded result when the member succeeded. */
  readonly value?: T;
  readonly error?: GroupMemberResult['error'];
}

/** A group's results, in body order. */
export interface GroupResult<T> {
  readonly groupId: string;
  /** `values[i]` is member `i`'s decoded result (`undefined` until it succeeds). */
  readonly values: (T | undefined)[];
  /** Member outcomes, `null` while a member has not finished. */
  readonly members: (GroupMemberView<T> | null)[];
  /** Every member finished. */
  readonly isComplete: boolean;
  /** Every member finished and succeeded. */
  readonly succeeded: boolean;
  /** The wait gave up before the group completed. */
  readonly timedOut: boolean;
}

/** What {@link Canvas.group} returns. */
export interface GroupDispatch<T> {
  readonly groupId: string;
  /** Member task ids, in body order. */
  readonly taskIds: readonly string[];
  /** Waits until every member finished (or the timeout). */
  wait(options?: WaitOptions): Promise<GroupResult<T>>;
  /**
   * The members as they finish, in completion order, each once (see {@link Canvas.groupResults}):
   * `for await (const r of group.results()) ...`. A failed member is yielded with its error.
   */
  results(options?: GroupResultsOptions): AsyncIterable<GroupResultItem<T>>;
}

/** What {@link Canvas.submitBatch} returns. */
export interface BatchHandle<T> extends BatchSubmission {
  /** The batch's current state and counts. */
  inspect(): Promise<BatchStatus | null>;
  /** Waits until every member finished (or the timeout). */
  wait(options?: WaitOptions): Promise<GroupResult<T>>;
  /** The members as they finish, in completion order, each once. */
  results(options?: GroupResultsOptions): AsyncIterable<GroupResultItem<T>>;
}

/** What {@link Canvas.chain} returns. */
export interface ChainDispatch<T> {
  readonly chainId: string;
  /** Pre-assigned task ids of every step, in order. */
  readonly taskIds: readonly string[];
  /** Waits for the last step; a failed step ends the chain and the remaining steps are `cancelled`. */
  wait(options?: WaitOptions): Promise<TaskResult<T>>;
}

/** What {@link Canvas.chord} returns. */
export interface ChordDispatch<R> {
  /** Chord id (the body's group id, header `stem-chord-id` on the callback). */
  readonly chordId: string;
  readonly groupId: string;
  /** Body task ids, in order. */
  readonly taskIds: readonly string[];
  /** Pre-assigned id of the callback task. */
  readonly callbackId: string;
  /** Waits for the callback; if a member fails, the callback is recorded `failed` with that member's error. */
  wait(options?: WaitOptions): Promise<TaskResult<R>>;
}

/** Options of {@link Canvas.group} and friends. */
export interface GroupOptions {
  /** Use this group id. */
  readonly groupId?: string;
  /** Ms the group lives. */
  readonly ttl?: number;
}

/**
 * Composes tasks: groups (parallel, results in body order), chains (sequential, advanced by the
 * worker), chords (a group plus a callback dispatched by the worker that finishes the last
 * member), `chunks`/`map` helpers over item lists, and idempotent batches (`submitBatch`).
 *
 * @example
 * const canvas = new Canvas(stem);
 * const chord = await canvas.chord([task<number>('square', { n: 2 }), task<number>('square', { n: 3 })], task<number>('sum', {}));
 * const total = (await chord.wait()).value; // 13
 */
export class Canvas {
  private readonly groupTtl: number;
  private readonly pollInterval: number;
  private readonly store?: GroupStore;
  private readonly batches: CanvasBatches;

  constructor(
    readonly stem: TaskProducer,
    options: CanvasOptions = {},
  ) {
    this.store = options.groupStore ?? stem.groupStore;
    this.groupTtl = options.groupTtl ?? 86_400_000;
    this.pollInterval = options.pollInterval ?? 50;
    this.batches = new CanvasBatches(stem, () => this.requireStore('submitBatch'), { ttl: this.groupTtl, claimTimeout: options.batchClaimTimeout ?? 60_000 });
  }

  /** Enqueues one signature; resolves with its id. */
  send(signature: TaskSignature<unknown, unknown>): Promise<string> {
    return this.stem.enqueue(signature.name, signature.args, signature.options, signature.taskOptions);
  }

  /** Runs signatures in parallel; results are collected per member in body order. */
  async group<T>(signatures: readonly TaskSignature<T, unknown>[], options: GroupOptions = {}): Promise<GroupDispatch<T>> {
    return this.dispatchGroup<T>(signatures, options, {});
  }

  /**
   * Runs signatures one after another: each worker enqueues the next step when its step
   * succeeds (meta `stem.parentResult` carries the result), so the producer may exit.
   */
  async chain<T>(signatures: readonly [...TaskSignature<unknown, unknown>[], TaskSignature<T, unknown>], options: { chainId?: string } = {}): Promise<ChainDispatch<T>> {
    if (signatures.length === 0) throw new ConfigurationError('signatures', 'canvas.chain() needs at least one signature');
    const chainId = options.chainId ?? uuidv7();
    const taskIds = signatures.map((s) => s.options?.taskId ?? uuidv7());
    const next = signatures.slice(1).map((s, i) => serializeTaskCall(s, taskIds[i + 1]));
    const first = signatures[0]!;
    await this.stem.enqueue(
      first.name,
      first.args,
      {
        ...first.options,
        taskId: taskIds[0]!,
        meta: { ...first.options?.meta, [CanvasMeta.chain]: { id: chainId, next } },
      },
      first.taskOptions,
    );
    const lastId = taskIds[taskIds.length - 1]!;
    return { chainId, taskIds, wait: (wait) => this.stem.waitForTask<T>(lastId, wait) };
  }

  /**
   * A group whose results, in body order, go to `callback` (meta `stem.chord.results`, read
   * with `chordResults(ctx)`). Exactly one worker, the one that records the last member,
   * dispatches the callback. A failed member fails the chord; the callback never runs.
   */
  async chord<T, R>(body: readonly TaskSignature<T, unknown>[], callback: TaskSignature<R, unknown>, options: GroupOptions = {}): Promise<ChordDispatch<R>> {
    const groupId = options.groupId ?? uuidv7();
    const callbackId = callback.options?.taskId ?? uuidv7();
    if (body.length === 0) {
      await this.stem.enqueue(
        callback.name,
        callback.args,
        {
          ...callback.options,
          taskId: callbackId,
          headers: { ...callback.options?.headers, [StemHeaders.chordId]: groupId },
          meta: { ...callback.options?.meta, [CanvasMeta.chordResults]: [] },
        },
        callback.taskOptions,
      );
      return { chordId: groupId, groupId, taskIds: [], callbackId, wait: (wait) => this.stem.waitForTask<R>(callbackId, wait) };
    }
    const dispatch = await this.dispatchGroup<T>(body, { ...options, groupId }, { [CanvasMeta.chordCallback]: serializeTaskCall(callback, callbackId) });
    return { chordId: groupId, groupId, taskIds: dispatch.taskIds, callbackId, wait: (wait) => this.stem.waitForTask<R>(callbackId, wait) };
  }

  /** A group with one task per chunk of `size` items; each task gets its chunk (an array) as args. */
  chunks<T = unknown, TItem = unknown>(taskName: string, items: readonly TItem[], size: number, options: EnqueueOptions & GroupOptions = {}): Promise<GroupDispatch<T>> {
    if (!Number.isInteger(size) || size < 1) throw new ConfigurationError('size', `canvas.chunks("${taskName}") needs a positive integer chunk size, got ${size}`);
    const { groupId, ttl, ...enqueue } = options;
    const signatures: TaskSignature<T>[] = [];
    for (let i = 0; i < items.length; i += size) signatures.push(task<T>(taskName, items.slice(i, i + size), enqueue));
    return this.group<T>(signatures, { ...(groupId ? { groupId } : {}), ...(ttl ? { ttl } : {}) });
  }

  /** A group with one task per item; each task gets its item as args. */
  map<T = unknown, TItem = unknown>(taskName: string, items: readonly TItem[], options: EnqueueOptions & GroupOptions = {}): Promise<GroupDispatch<T>> {
    const { groupId, ttl, ...enqueue } = options;
    return this.group<T>(
      items.map((item) => task<T>(taskName, item, enqueue)),
      { ...(groupId ? { groupId } : {}), ...(ttl ? { ttl } : {}) },
    );
  }

  /**
   * Submits signatures as one batch under `batchId`, idempotently: the first submission with an
   * id creates the batch and enqueues its tasks; any later one, in this or another process, even
   * a concurrent one, returns the same batch (the same task ids) and enqueues nothing. The batch
   * lives `ttl` ms; then its id is free again. A batch is a group, so `wait()` and `results()`
   * work on it as on a group. A member that cannot be enqueued (unknown task, invalid args, a
   * middleware rejecting it) does not hold back the others: it is recorded `failed` and listed in
   * `rejected` with an error naming the member, its task and the reason.
   * @throws BatchConflictError when a live group under that id is not a batch of this size
   */
  async submitBatch<T>(signatures: readonly TaskSignature<T, unknown>[], options: BatchOptions = {}): Promise<BatchHandle<T>> {
    const submission = await this.batches.submit(signatures, options);
    return {
      ...submission,
      inspect: () => this.inspectBatch(submission.batchId),
      wait: (wait) => this.waitForGroup<T>(submission.batchId, wait),
      results: (results) => this.groupResults<T>(submission.batchId, results),
    };
  }

  /** A batch's state, counts per task state and failed task ids, or `null` when unknown or expired. */
  inspectBatch(batchId: string): Promise<BatchStatus | null> {
    return this.batches.inspect(batchId);
  }

  /**
   * The members of group `groupId` as they finish, in completion order, each once, until every
   * member finished; also for a group another process dispatched. Failed and cancelled members are
   * yielded with `state` and `error` (the iteration does not throw for them).
   * @throws GroupNotFoundError when the group is unknown or expired
   * @throws GroupResultsTimeoutError when `timeout` (30 s) passes before every member finished
   * @example
   * for await (const r of canvas.groupResults<number>(groupId)) console.log(r.index, r.state, r.value ?? r.error?.message);
   */
  groupResults<T>(groupId: string, options: GroupResultsOptions = {}): AsyncIterable<GroupResultItem<T>> {
    const store = this.requireStore('groupResults');
    return groupResults<T>(store, groupId, (r) => this.decodeMember<T>(r), { ...options, pollInterval: options.pollInterval ?? this.pollInterval });
  }

  /** A group's results so far, decoded, or `null` when unknown or expired. */
  async getGroup<T>(groupId: string): Promise<GroupResult<T> | null> {
    const status = await this.requireStore('getGroup').getGroup(groupId);
    return status ? this.view<T>(status, false) : null;
  }

  /** Waits until every member of a group finished (or the timeout). */
  async waitForGroup<T>(groupId: string, options: WaitOptions = {}): Promise<GroupResult<T>> {
    const store = this.requireStore('waitForGroup');
    const deadline = Date.now() + (options.timeout ?? 30_000);
    const interval = options.pollInterval ?? this.pollInterval;
    for (;;) {
      const status = await store.getGroup(groupId);
      if (status?.isComplete) return this.view<T>(status, false);
      if (Date.now() >= deadline || options.signal?.aborted) {
        return status ? this.view<T>(status, true) : { groupId, values: [], members: [], isComplete: false, succeeded: false, timedOut: true };
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(interval, Math.max(1, deadline - Date.now()))));
    }
  }

  private async dispatchGroup<T>(signatures: readonly TaskSignature<T, unknown>[], options: GroupOptions, groupMeta: Record<string, unknown>): Promise<GroupDispatch<T>> {
    const store = this.requireStore('group');
    const groupId = options.groupId ?? uuidv7();
    await store.initGroup(groupId, signatures.length, groupMeta, options.ttl ?? this.groupTtl);
    const calls: EnqueueCall[] = signatures.map((s, index) => ({
      name: s.name,
      args: s.args,
      options: {
        ...s.options,
        headers: { ...s.options?.headers, [StemHeaders.groupId]: groupId },
        meta: { ...s.options?.meta, [CanvasMeta.groupId]: groupId, [CanvasMeta.groupIndex]: index },
      },
      ...(s.taskOptions ? { taskOptions: s.taskOptions } : {}),
    }));
    const tracing = this.stem.tracing;
    const enqueue = () => this.stem.enqueueMany(calls);
    // NOTE: one span over the members' `send` spans keeps a group (and the chord callback its last
    // member enqueues) in one trace even when the caller has no span of its own.
    const kind = groupMeta[CanvasMeta.chordCallback] ? 'chord' : 'group';
    const attributes = { [StemSpanAttributes.groupId]: groupId, 'stem.group.size': calls.length };
    const taskIds = calls.length === 0 ? [] : tracing ? await tracing.inSpan(kind, attributes, enqueue) : await enqueue();
    return { groupId, taskIds, wait: (wait) => this.waitForGroup<T>(groupId, wait), results: (results) => this.groupResults<T>(groupId, results) };
  }

  private decodeMember<T>(r: GroupMemberResult): T | undefined {
    return r.state === 'succeeded' && r.payload !== undefined ? (this.stem.encoders.decode(r.payload, r.resultEncoder, `result of group member ${r.taskId}`) as T) : undefined;
  }

  private view<T>(status: GroupStatus, timedOut: boolean): GroupResult<T> {
    const members = status.results.map((r): GroupMemberView<T> | null => {
      if (!r) return null;
      const value = this.decodeMember<T>(r);
      return { taskId: r.taskId, state: r.state, ...(value !== undefined ? { value } : {}), ...(r.error ? { error: r.error } : {}) };
    });
    return {
      groupId: status.id,
      values: members.map((m) => m?.value),
      members,
      isComplete: status.isComplete,
      succeeded: status.isComplete && status.failed === 0,
      timedOut,
    };
  }

  private requireStore(method: string): GroupStore {
    if (!this.store) throw new ConfigurationError('groupStore', `canvas.${method}() needs a group store; pass { groupStore } to new Stem() or new Canvas()`);
    return this.store;
  }
}
