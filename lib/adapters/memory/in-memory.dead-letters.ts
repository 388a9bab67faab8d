import { type DeadLetterEntry, type DeadLetterFilter, type DeadLetterPage, deadLetterMatcher, type PurgeDeadLettersOptions } from '../../core/contracts/broker.js';
import type { Clock } from '../../core/utils/clock.js';

/** Default retention of dead letters: 7 days. */
export const DEFAULT_DEAD_LETTER_RETENTION_MS = 7 * 24 * 60 * 60 * 1_000;

/**
 * The dead letters of {@link InMemoryBroker}, per queue and oldest first. Each dead letter is a
 * record of its own; those older than the retention are dropped whenever the queue's dead letters
 * are written or read.
 */
export class InMemoryDeadLetters {
  private readonly byQueue = new Map<string, DeadLetterEntry[]>();

  constructor(
    private readonly clock: Clock,
    /** Dead letters older than this many ms are dropped; `Infinity` keeps them. */
    readonly retention: number = DEFAULT_DEAD_LETTER_RETENTION_MS,
  ) {}

  /** Stores a dead letter. */
  add(queue: string, entry: DeadLetterEntry): void {
    this.of(queue).push(entry);
  }

  /** Newest first, `limit` per page from `offset`. */
  list(queue: string, options: { limit?: number; offset?: number } = {}): DeadLetterPage {
    const limit = options.limit ?? 50;
    const offset = options.offset ?? 0;
    const newestFirst = [...this.of(queue)].reverse();
    const items = newestFirst.slice(offset, offset + limit);
    const next = offset + items.length;
    return { items, ...(next < newestFirst.length ? { nextOffset: next } : {}) };
  }

  /** The newest dead letter of a task id. */
  get(queue: string, id: string): DeadLetterEntry | null {
    const dead = this.of(queue);
    for (let i = dead.length - 1; i >= 0; i--) if (dead[i]!.envelope.id === id) return dead[i]!;
    return null;
  }

  /** The oldest entries matching `filter`, at most `limit`; removed unless `keep`. */
  take(queue: string, filter: DeadLetterFilter, limit: number, keep: boolean): DeadLetterEntry[] {
    const dead = this.of(queue);
    const matches = deadLetterMatcher(filter);
    const selected: DeadLetterEntry[] = [];
    for (const entry of dead) {
      if (selected.length >= limit) break;
      if (matches(entry)) selected.push(entry);
    }
    if (!keep && selected.length > 0) {
      const chosen = new Set(selected);
      this.byQueue.set(
        queue,
        dead.filter((entry) => !chosen.has(entry)),
      );
    }
    return selected;
  }

  /** Deletes entries (oldest first); returns how many. */
  purge(queue: string, options: PurgeDeadLettersOptions = {}): number {
    return this.take(queue, options, options.limit ?? Infinity, false).length;
  }

  /** How many dead letters a queue keeps. */
  count(queue: string): number {
    return this.of(queue).length;
  }

  /** Queues that have held dead letters. */
  queues(): string[] {
    return [...this.byQueue.keys()];
  }

  /** Deletes every dead letter of a queue. */
  clear(queue: string): void {
    this.byQueue.delete(queue);
  }

  /** A queue's dead letters, after dropping those past the retention. */
  private of(queue: string): DeadLetterEntry[] {
    let dead = this.byQueue.get(queue);
    if (!dead) this.byQueue.set(queue, (dead = []));
    if (dead.length > 0 && Number.isFinite(this.retention)) {
      const cutoff = this.clock.now() - this.retention;
      let old = 0;
      while (old < dead.length && dead[old]!.deadAt < cutoff) old++;
      if (old > 0) dead.splice(0, old);
    }
    return dead;
  }
}
