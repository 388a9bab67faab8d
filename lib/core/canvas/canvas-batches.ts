import { StemHeaders, type TaskError, type TaskState } from '../envelope.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import type { EnqueueCall, EnqueueOutcome, TaskProducer } from '../contracts/producer.js';
import { uuidv7 } from '../utils/uuid.js';
import { BatchConflictError } from './batch-conflict.error.js';
import { CanvasMeta } from './canvas.constants.js';
import type { GroupStatus, GroupStore } from './group-store.js';
import type { TaskSignature } from './task-signature.js';

/** Options of `canvas.submitBatch()`. */
export interface BatchOptions {
  /** The batch id; submitting again with the same id returns the same batch. @default a new UUIDv7 */
  readonly batchId?: string;
  /** Ms the batch (and its membership) is kept; afterwards the id is free again. @default the canvas `groupTtl` (1 day) */
  readonly ttl?: number;
}

/** Where a batch is in its life, from its members' states. */
export type BatchState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'partial';

/** What `canvas.inspectBatch()` reports. */
export interface BatchStatus {
  readonly batchId: string;
  /**
   * `pending`: no member started; `running`: some started or finished, not all finished;
   * `succeeded` / `failed` / `cancelled`: every member finished in that state; `partial`: every
   * member finished, in mixed states.
   */
  readonly state: BatchState;
  /** True once every member finished. */
  readonly isTerminal: boolean;
  /** Number of members. */
  readonly expected: number;
  /** Members finished (succeeded, failed or cancelled). */
  readonly completed: number;
  /** Members per task state; a member not yet published or without a status counts as `queued`. */
  readonly counts: Readonly<Record<TaskState, number>>;
  /** Member task ids, in submission order. */
  readonly taskIds: readonly string[];
  readonly failedTaskIds: readonly string[];
  readonly cancelledTaskIds: readonly string[];
  /** Epoch ms the batch was created, and when it expires (the group store's clock). */
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** What a batch records in its group's meta (key `stem.batch`). */
export interface BatchRecord {
  /** Member task ids, in submission order. */
  readonly taskIds: readonly string[];
}

/** A batch member that could not be enqueued (unknown task, invalid args, rejected by a middleware). */
export interface BatchRejection {
  /** 0-based position in the signatures. */
  readonly index: number;
  readonly taskId: string;
  /** Its task name. */
  readonly name: string;
  /** Why, naming the batch, the member and its task; also its `failed` status and group result. */
  readonly error: TaskError;
}

/** A submitted batch: the same ids for every submission with that batch id. */
export interface BatchSubmission {
  readonly batchId: string;
  /** Member task ids, in submission order (those of the first submission). */
  readonly taskIds: readonly string[];
  /** True for the submission that created the batch, false when it existed already. */
  readonly created: boolean;
  /**
   * Members that were not enqueued, recorded `failed` (the others were enqueued all the same, and
   * the batch ends `partial` or `failed`). A later submission reports those recorded so far.
   */
  readonly rejected: readonly BatchRejection[];
}

const STATES: readonly TaskState[] = ['queued', 'running', 'retried', 'succeeded', 'failed', 'cancelled'];
/** Status reads in flight at once while inspecting or re-dispatching a batch. */
const READ_CONCURRENCY = 64;

async function mapLimited<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += READ_CONCURRENCY) out.push(...(await Promise.all(items.slice(i, i + READ_CONCURRENCY).map(fn))));
  return out;
}

/** The state of a batch of `expected` members with these counts per task state. */
export function batchState(counts: Readonly<Record<TaskState, number>>, expected: number): BatchState {
  const completed = counts.succeeded + counts.failed + counts.cancelled;
  if (completed < expected) return completed > 0 || counts.running > 0 || counts.retried > 0 ? 'running' : 'pending';
  if (counts.succeeded === expected) return 'succeeded';
  if (counts.failed === expected) return 'failed';
  if (counts.cancelled === expected) return 'cancelled';
  return 'partial';
}

/**
 * Batches on the group store: a batch is a group whose meta records its member task ids. The
 * group is created atomically (`createGroup`), so of many submissions with one batch id, in any
 * number of processes, one creates it; the members are then published by whichever submission
 * holds the group's dispatch claim (the claim chords use for their callback), which is marked
 * dispatched afterwards. A submission whose publish failed gives the claim back, and one that died
 * leaves it to lapse (`batchClaimTimeout`); the next submission with that id then publishes the
 * members no worker has picked up yet.
 */
export class CanvasBatches {
  constructor(
    private readonly stem: TaskProducer,
    private readonly store: () => GroupStore,
    private readonly defaults: { readonly ttl: number; readonly claimTimeout: number },
  ) {}

  async submit(signatures: readonly TaskSignature<unknown, unknown>[], options: BatchOptions): Promise<BatchSubmission> {
    if (signatures.length === 0) throw new ConfigurationError('signatures', 'canvas.submitBatch() needs at least one signature');
    const store = this.store();
    const batchId = options.batchId ?? uuidv7();
    const proposed: BatchRecord = { taskIds: signatures.map((s) => s.options?.taskId ?? uuidv7()) };
    const { created, group } = await store.createGroup(batchId, signatures.length, { [CanvasMeta.batch]: proposed }, options.ttl ?? this.defaults.ttl);
    const record = group.meta[CanvasMeta.batch] as BatchRecord | undefined;
    if (!record || !Array.isArray(record.taskIds)) throw new BatchConflictError(batchId, undefined, signatures.length);
    if (group.expected !== signatures.length) throw new BatchConflictError(batchId, group.expected, signatures.length);
    const rejected = group.chordDispatched ? recordedRejections(group, signatures) : await this.dispatch(store, batchId, signatures, record.taskIds, created, group);
    return { batchId, taskIds: record.taskIds, created, rejected };
  }

  async inspect(batchId: string): Promise<BatchStatus | null> {
    const group = await this.store().getGroup(batchId);
    const record = group?.meta[CanvasMeta.batch] as BatchRecord | undefined;
    if (!group || !record || !Array.isArray(record.taskIds)) return null;
    const states = await this.memberStates(group, record);
    const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<TaskState, number>;
    for (const state of states) counts[state]++;
    const state = batchState(counts, group.expected);
    return {
      batchId,
      state,
      isTerminal: !(state === 'pending' || state === 'running'),
      expected: group.expected,
      completed: counts.succeeded + counts.failed + counts.cancelled,
      counts,
      taskIds: record.taskIds,
      failedTaskIds: record.taskIds.filter((_, i) => states[i] === 'failed'),
      cancelledTaskIds: record.taskIds.filter((_, i) => states[i] === 'cancelled'),
      createdAt: group.createdAt,
      expiresAt: group.expiresAt,
    };
  }

  /** A member's outcome from the group when recorded, else its live status, else `queued`. */
  private async memberStates(group: GroupStatus, record: BatchRecord): Promise<TaskState[]> {
    const backend = this.stem.backend;
    return mapLimited(
      record.taskIds.map((id, i) => ({ id, recorded: group.results[i] })),
      async ({ id, recorded }) => recorded?.state ?? (backend ? ((await backend.get(id))?.state ?? 'queued') : 'queued'),
    );
  }

  private async dispatch(
    store: GroupStore,
    batchId: string,
    signatures: readonly TaskSignature<unknown, unknown>[],
    taskIds: readonly string[],
    created: boolean,
    group: GroupStatus,
  ): Promise<BatchRejection[]> {
    const token = `batch:${uuidv7()}`;
    if (!(await store.claimChord(batchId, token, this.defaults.claimTimeout))) return recordedRejections(group, signatures);
    const rejected = recordedRejections(group, signatures);
    try {
      const backend = this.stem.backend;
      // NOTE: the submission that created the batch publishes every member without reading their
      // statuses. A later one may follow a submitter that published some members before it failed
      // or died: a member a worker has picked up is skipped; one still `queued` is published again,
      // since its publish may have failed (at least once: it may run twice, never zero times).
      const published =
        backend && !created
          ? await mapLimited(taskIds, async (id) => {
              const status = await backend.get(id);
              return status !== null && status.state !== 'queued' && status.error?.type !== 'PublishError';
            })
          : taskIds.map(() => false);
      const calls: EnqueueCall[] = [];
      const indexes: number[] = [];
      signatures.forEach((s, index) => {
        // NOTE: a member with a recorded outcome (a rejected one, or one a worker finished) is done.
        if (published[index] || group.results[index]) return;
        indexes.push(index);
        calls.push({
          name: s.name,
          args: s.args,
          options: {
            ...s.options,
            taskId: taskIds[index]!,
            headers: { ...s.options?.headers, [StemHeaders.groupId]: batchId },
            meta: { ...s.options?.meta, [CanvasMeta.groupId]: batchId, [CanvasMeta.groupIndex]: index, [CanvasMeta.batchId]: batchId },
          },
          ...(s.taskOptions ? { taskOptions: s.taskOptions } : {}),
        });
      });
      const outcomes = calls.length === 0 ? [] : await this.enqueueEach(calls);
      for (const [k, outcome] of outcomes.entries()) {
        if (outcome.ok) continue;
        const index = indexes[k]!;
        rejected.push(await this.reject(store, batchId, index, taskIds[index]!, signatures[index]!.name, outcome.error));
      }
    } catch (error) {
      await store.releaseChord(batchId, token).catch(() => undefined);
      throw error;
    }
    await store.markChordDispatched(batchId, token);
    return rejected.sort((a, b) => a.index - b.index);
  }

  /** Each call on its own where the producer can (one bad member does not keep the others back), else all or none. */
  private async enqueueEach(calls: EnqueueCall[]): Promise<EnqueueOutcome[]> {
    if (this.stem.enqueueManySettled) return this.stem.enqueueManySettled(calls);
    return (await this.stem.enqueueMany(calls)).map((id) => ({ ok: true, id }));
  }

  /** Records a member that was not enqueued as `failed`, in the batch's group and as its task status. */
  private async reject(store: GroupStore, batchId: string, index: number, taskId: string, name: string, cause: Error): Promise<BatchRejection> {
    const error: TaskError = {
      type: cause.name,
      message: `batch "${batchId}" member ${index} (task "${name}", id ${taskId}) was not enqueued: ${cause.message}`,
      retryable: false,
      meta: { [CanvasMeta.batchRejected]: true },
    };
    await store.addResult(batchId, index, { taskId, state: 'failed', error, completedAt: Date.now() });
    await this.stem.backend?.set(taskId, {
      state: 'failed',
      attempt: 0,
      name,
      error,
      meta: { [CanvasMeta.groupId]: batchId, [CanvasMeta.groupIndex]: index, [CanvasMeta.batchId]: batchId },
    });
    return { index, taskId, name, error };
  }
}

/** The members a submission recorded as rejected, from the batch's group. */
function recordedRejections(group: GroupStatus, signatures: readonly TaskSignature<unknown, unknown>[]): BatchRejection[] {
  const rejected: BatchRejection[] = [];
  group.results.forEach((r, index) => {
    if (r?.error?.meta?.[CanvasMeta.batchRejected] === true) rejected.push({ index, taskId: r.taskId, name: signatures[index]?.name ?? 'unknown', error: r.error });
  });
  return rejected;
}
