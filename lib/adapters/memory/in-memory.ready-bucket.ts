import type { Envelope } from '../../core/envelope.js';
import { Deque } from '../../core/utils/deque.js';

/** Envelopes made ready in one millisecond, in a row. */
interface ReadyRun {
  readonly at: number;
  count: number;
}

/**
 * The ready envelopes of one priority of one queue, first in first out, with the epoch ms each
 * one became ready. The times are kept as runs of envelopes made ready in the same millisecond
 * (a burst of thousands is one run), not one record per envelope.
 */
export class ReadyBucket {
  private readonly envelopes = new Deque<Envelope>();
  private readonly runs = new Deque<ReadyRun>();
  private lastRun: ReadyRun | undefined;

  /** How many envelopes wait. */
  get length(): number {
    return this.envelopes.length;
  }

  /** Adds `envelope`, ready since `at`. */
  push(envelope: Envelope, at: number): void {
    this.envelopes.push(envelope);
    const last = this.lastRun;
    if (last && last.count > 0 && last.at === at) last.count++;
    else this.runs.push((this.lastRun = { at, count: 1 }));
  }

  /** Takes the oldest envelope. */
  shift(): Envelope | undefined {
    const envelope = this.envelopes.shift();
    if (envelope === undefined) return undefined;
    const run = this.runs.peek()!;
    if (--run.count === 0) this.runs.shift();
    return envelope;
  }

  /** When the oldest waiting envelope became ready (`undefined`: none waits). */
  oldestReadyAt(): number | undefined {
    return this.runs.peek()?.at;
  }

  /** Drops every envelope; returns how many there were. */
  clear(): number {
    const removed = this.envelopes.removeWhere(() => true);
    this.runs.removeWhere(() => true);
    this.lastRun = undefined;
    return removed;
  }
}
