import type { Envelope, TaskError } from '../envelope.js';
import { StemHeaders, StemMeta } from '../envelope.js';
import { TraceHeaders } from '../observability/trace-headers.js';
import { ChainBrokenError } from '../errors/chain-broken.error.js';
import { ChordFailedError } from '../errors/chord-failed.error.js';
import type { Stem } from '../stem.js';
import type { EnqueueOptions } from '../task-options.js';
import type { TaskOutcome, TerminalTaskOutcome } from '../worker/task-outcome.js';
import type { WorkerExtension } from '../worker/worker-extension.js';
import { CanvasMeta } from './canvas.constants.js';
import { ChordClaimPendingError } from './chord-claim-pending.error.js';
import type { GroupStatus, GroupStore } from './group-store.js';
import { deserializeEnqueueOptions, type SerializedTaskCall } from './task-call.serializer.js';

/** What a task ended with, as the worker reports it after writing the terminal status. */
export type CanvasTaskOutcome = TerminalTaskOutcome;

/** Whether the task is in a group or chain or has callbacks for this outcome (most tasks have none, and skip {@link CanvasCoordinator.onTerminal}). */
function hasFollowUps(outcome: CanvasTaskOutcome): boolean {
  const env = outcome.envelope;
  const links = outcome.state === 'succeeded' ? CanvasMeta.link : CanvasMeta.linkError;
  return Boolean(env.headers[StemHeaders.groupId]) || env.meta[CanvasMeta.chain] !== undefined || env.meta[links] !== undefined;
}

/** Longest pause between two looks at a chord claimed by another attempt. */
const CLAIM_POLL_MAX_MS = 1_000;
/** How long past the other attempt's claim deadline this one keeps waiting before requeueing. */
const CLAIM_WAIT_SLACK_MS = 2_000;

interface ChainState {
  readonly id: string;
  readonly next: readonly SerializedTaskCall[];
}

function userHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!k.startsWith('stem-') && k !== StemHeaders.scheduledFrom && k !== StemHeaders.scheduleId) out[k] = v;
  return out;
}

function carriedTraceHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.values(TraceHeaders)) if (headers[key] !== undefined) out[key] = headers[key];
  return out;
}

function userMeta(meta: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) if (!k.startsWith('stem.') && !k.startsWith('__stem')) out[k] = v;
  return out;
}

function lineage(env: Envelope): Record<string, unknown> {
  return {
    [StemMeta.parentTaskId]: env.id,
    [StemMeta.rootTaskId]: (env.meta[StemMeta.rootTaskId] as string | undefined) ?? env.id,
    [StemMeta.parentAttempt]: env.attempt,
  };
}

/** Options of a follow-up call: the parent's user headers/meta, then the call's own, then lineage and `extra` meta. */
function followUp(env: Envelope, call: SerializedTaskCall, extraMeta: Record<string, unknown>, extraHeaders: Record<string, string> = {}): EnqueueOptions {
  const options = deserializeEnqueueOptions(call.options);
  return {
    ...options,
    headers: { ...userHeaders(env.headers), ...options.headers, ...extraHeaders },
    meta: { ...userMeta(env.meta), ...options.meta, ...lineage(env), ...extraMeta },
  };
}

/**
 * Runs canvas follow-ups once a task reached a terminal state: records group members, dispatches
 * or fails chords (once: a `claimChord` with a deadline, then `markChordDispatched`), advances or
 * breaks chains, and enqueues `link`/`linkError` callbacks. Everything is enqueued through
 * `producer`, so it is signed and encoded like any other task.
 *
 * It is a worker extension the worker adds first: when a follow-up of a succeeded task fails,
 * the delivery is requeued instead of acked, so the follow-ups are tried again (they are
 * idempotent); after a failure or a cancellation the error is only reported.
 */
export class CanvasCoordinator implements WorkerExtension {
  readonly name = 'canvas';
  readonly requeueOnFailure = true;

  constructor(
    private readonly producer: Stem,
    private readonly groupStore?: GroupStore,
  ) {}

  /** Worker extension hook: follow-ups of terminal outcomes; retries have none. */
  onSettled(outcome: TaskOutcome): Promise<void> | undefined {
    return outcome.state === 'retried' || !hasFollowUps(outcome) ? undefined : this.onTerminal(outcome);
  }

  /** Worker extension hook: whether a terminal outcome has follow-ups (a group, a chain, links). */
  followsUp(outcome: TaskOutcome): boolean {
    return outcome.state !== 'retried' && hasFollowUps(outcome);
  }

  /** Handles one terminal outcome. Errors propagate to the caller (the worker reports them). */
  async onTerminal(outcome: CanvasTaskOutcome): Promise<void> {
    const env = outcome.envelope;
    const tasks: Promise<unknown>[] = [];
    const groupId = env.headers[StemHeaders.groupId];
    if (groupId) tasks.push(this.recordGroupMember(groupId, outcome));
    const chain = env.meta[CanvasMeta.chain] as ChainState | undefined;
    if (chain && Array.isArray(chain.next) && chain.next.length > 0) tasks.push(this.advanceChain(chain, outcome));
    const links = (outcome.state === 'succeeded' ? env.meta[CanvasMeta.link] : env.meta[CanvasMeta.linkError]) as SerializedTaskCall[] | undefined;
    if (Array.isArray(links)) {
      const extra = outcome.state === 'succeeded' ? { [CanvasMeta.parentResult]: outcome.result } : { [CanvasMeta.parentError]: outcome.error };
      for (const call of links) tasks.push(this.producer.enqueue(call.name, call.args, followUp(env, call, extra)));
    }
    const settled = await Promise.allSettled(tasks);
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) throw failure.reason;
  }

  private async recordGroupMember(groupId: string, outcome: CanvasTaskOutcome): Promise<void> {
    const env = outcome.envelope;
    if (!this.groupStore) throw new Error(`Task "${env.name}" (${env.id}) belongs to group ${groupId} but this worker has no groupStore; pass { groupStore } to the Worker`);
    const index = Number(env.meta[CanvasMeta.groupIndex]);
    if (!Number.isInteger(index)) throw new Error(`Task "${env.name}" (${env.id}) of group ${groupId} has no "${CanvasMeta.groupIndex}" meta`);
    const status = await this.groupStore.addResult(groupId, index, {
      taskId: env.id,
      state: outcome.state,
      ...(outcome.payload !== undefined ? { payload: outcome.payload } : {}),
      ...(outcome.resultEncoder ? { resultEncoder: outcome.resultEncoder } : {}),
      ...(outcome.error ? { error: outcome.error } : {}),
      completedAt: Date.now(),
    });
    if (!status) return;
    const callback = status.meta[CanvasMeta.chordCallback] as SerializedTaskCall | undefined;
    if (!callback) return;
    const callbackId = String(callback.options.taskId);
    if (outcome.state !== 'succeeded') {
      await this.claimAndRun(groupId, callbackId, () => this.failChord(groupId, callback, env, index, outcome.error));
      return;
    }
    if (status.isComplete && status.failed === 0) await this.claimAndRun(groupId, callbackId, () => this.dispatchChord(groupId, callback, env, status));
  }

  /**
   * Claims the chord and runs `dispatch`, then marks the chord dispatched; a failed dispatch gives
   * the claim back so a redelivery can try again. While another attempt holds the claim, waits
   * until that attempt marks the chord dispatched (done) or its claim lapses (its worker died
   * between claim and publish: this attempt takes the claim over and dispatches).
   */
  private async claimAndRun(groupId: string, callbackId: string, dispatch: () => Promise<void>): Promise<void> {
    const store = this.groupStore!;
    let giveUpAt: number | undefined;
    for (;;) {
      if (await store.claimChord(groupId, callbackId)) {
        try {
          await dispatch();
        } catch (error) {
          await store.releaseChord(groupId, callbackId).catch(() => undefined);
          throw error;
        }
        await store.markChordDispatched(groupId, callbackId);
        return;
      }
      const group = await store.getGroup(groupId);
      if (!group || group.chordDispatched) return;
      const now = Date.now();
      const lapsesAt = group.chordClaimExpiresAt ?? now;
      giveUpAt ??= Math.max(now, lapsesAt) + CLAIM_WAIT_SLACK_MS;
      // NOTE: the deadline comes from the store's clock (the server's on Postgres), so it only
      // paces the polling; the claim itself decides, and the wait is bounded either way.
      if (now >= giveUpAt) throw new ChordClaimPendingError(groupId, callbackId, group.chordClaimExpiresAt);
      await new Promise((resolve) => setTimeout(resolve, Math.min(CLAIM_POLL_MAX_MS, Math.max(20, lapsesAt - now), giveUpAt! - now)));
    }
  }

  private async dispatchChord(groupId: string, callback: SerializedTaskCall, last: Envelope, status: GroupStatus): Promise<void> {
    // NOTE: a claim taken over from an attempt that died after publishing (before marking the
    // chord dispatched) must not start the callback again once it was picked up.
    const existing = await this.producer.backend?.get(String(callback.options.taskId));
    if (existing && existing.state !== 'queued' && existing.error?.type !== 'PublishError') return;
    const results = status.results.map((r) =>
      r?.payload === undefined ? undefined : this.producer.encoders.decode(r.payload, r.resultEncoder, `result of chord ${groupId} member ${r.taskId}`),
    );
    const options = deserializeEnqueueOptions(callback.options);
    await this.producer.enqueue(callback.name, callback.args, {
      ...options,
      // NOTE: the callback carries the trace of the member that completed the chord.
      headers: { ...carriedTraceHeaders(last.headers), ...options.headers, [StemHeaders.chordId]: groupId },
      meta: { ...options.meta, ...lineage(last), [CanvasMeta.chordResults]: results },
    });
  }

  private async failChord(groupId: string, callback: SerializedTaskCall, member: Envelope, index: number, error: TaskError | undefined): Promise<void> {
    const failure = new ChordFailedError(groupId, member.id, index, member.name, error?.message ?? 'unknown error');
    await this.producer.backend?.set(String(callback.options.taskId), {
      state: 'failed',
      attempt: 0,
      name: callback.name,
      ...(typeof callback.options.queue === 'string' ? { queue: callback.options.queue } : {}),
      error: { type: failure.name, message: failure.message, retryable: false, meta: { chordId: groupId, memberTaskId: member.id, memberIndex: index, memberError: error } },
    });
  }

  private async advanceChain(chain: ChainState, outcome: CanvasTaskOutcome): Promise<void> {
    const env = outcome.envelope;
    const [next, ...rest] = chain.next;
    if (outcome.state === 'succeeded') {
      const nextId = String(next!.options.taskId);
      // NOTE: a redelivered step (at-least-once) must not start the next step twice; a next step
      // whose publish failed is still to be started.
      const existing = await this.producer.backend?.get(nextId);
      if (existing && existing.error?.type !== 'PublishError') return;
      const extra: Record<string, unknown> = { [CanvasMeta.parentResult]: outcome.result };
      if (rest.length > 0) extra[CanvasMeta.chain] = { id: chain.id, next: rest };
      await this.producer.enqueue(next!.name, next!.args, followUp(env, next!, extra));
      return;
    }
    const broken = new ChainBrokenError(chain.id, env.id, env.name, outcome.error?.message ?? outcome.state);
    await Promise.all(
      chain.next.map((step) =>
        this.producer.backend?.set(String(step.options.taskId), {
          state: 'cancelled',
          attempt: 0,
          name: step.name,
          error: { type: broken.name, message: broken.message, retryable: false, meta: { chainId: chain.id, failedTaskId: env.id, failedError: outcome.error } },
        }),
      ),
    );
  }
}
