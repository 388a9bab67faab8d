import { type Broker, type DeadLetterAdmin, type DeadLetterEntry, type DeadLetterFilter, hasDeadLetterAdmin } from '../core/contracts/broker.js';

/** Filters of the dead-letters page. */
export interface DeadLetterQuery {
  readonly queue: string;
  readonly reason?: string;
  readonly errorType?: string;
  readonly offset?: number;
  readonly limit?: number;
}

/** A group of dead letters sharing a reason and error type. */
export interface DeadLetterGroup {
  readonly reason: string;
  readonly errorType: string;
  readonly count: number;
  /** Epoch ms of the newest. */
  readonly lastAt: number;
}

/** What the dead-letters page shows of one queue. */
export interface DeadLetterListing {
  readonly items: readonly DeadLetterEntry[];
  readonly nextOffset?: number;
  readonly groups: readonly DeadLetterGroup[];
  /** Entries read to build the groups; the groups cover only these when `capped`. */
  readonly scanned: number;
  readonly capped: boolean;
}

/** Dead letters read for grouping and filtering (newest first). */
const SCAN_LIMIT = 2_000;

/** The error type recorded with a dead letter (`meta.error.type`), or `—`. */
export function errorTypeOf(entry: DeadLetterEntry): string {
  const error = entry.meta.error as { type?: unknown } | undefined;
  return typeof error?.type === 'string' ? error.type : '—';
}

/**
 * Lists a queue's dead letters with the reason and error-type filters, and groups the newest
 * {@link SCAN_LIMIT} by reason and error type.
 */
export async function listDeadLetters(broker: Broker, q: DeadLetterQuery): Promise<DeadLetterListing | null> {
  if (!hasDeadLetterAdmin(broker)) return null;
  const limit = q.limit ?? 50;
  const offset = q.offset ?? 0;
  const scanned: DeadLetterEntry[] = [];
  let next: number | undefined = 0;
  while (next !== undefined && scanned.length < SCAN_LIMIT) {
    const page = await broker.listDeadLetters(q.queue, { limit: 500, offset: next });
    scanned.push(...page.items);
    next = page.nextOffset;
  }
  const groups = new Map<string, { reason: string; errorType: string; count: number; lastAt: number }>();
  for (const e of scanned) {
    const errorType = errorTypeOf(e);
    const key = `${e.reason}\u0000${errorType}`;
    const g = groups.get(key) ?? { reason: e.reason, errorType, count: 0, lastAt: 0 };
    g.count++;
    g.lastAt = Math.max(g.lastAt, e.deadAt);
    groups.set(key, g);
  }
  const matching = scanned.filter((e) => (!q.reason || e.reason === q.reason) && (!q.errorType || errorTypeOf(e) === q.errorType));
  const items = matching.slice(offset, offset + limit);
  return {
    items,
    ...(offset + limit < matching.length ? { nextOffset: offset + limit } : {}),
    groups: [...groups.values()].sort((a, b) => b.count - a.count),
    scanned: scanned.length,
    capped: next !== undefined,
  };
}

/** What a bulk action on dead letters takes: the oldest `limit` matching the page's filters and a time. */
export interface DeadLetterSelection {
  /** Only entries dead at or after this epoch ms. */
  readonly since?: number;
  /** The page's reason filter. */
  readonly reason?: string;
  /** The page's error-type filter (`meta.error.type`). */
  readonly errorType?: string;
  readonly limit: number;
}

/**
 * The broker filter of a selection. Time and reason are the broker's own filters; an error type,
 * which lives in meta, is resolved here to the task ids of the matching entries among the newest
 * {@link SCAN_LIMIT} (those the page lists), so the action takes exactly what the filtered page
 * shows. `capped` says the queue holds more than were read.
 */
export async function selectionFilter(broker: Broker & DeadLetterAdmin, queue: string, selection: DeadLetterSelection): Promise<{ filter: DeadLetterFilter; capped: boolean }> {
  const filter: DeadLetterFilter = {
    ...(selection.since !== undefined ? { since: selection.since } : {}),
    ...(selection.reason ? { reason: selection.reason } : {}),
  };
  if (!selection.errorType) return { filter, capped: false };
  const ids = new Set<string>();
  let read = 0;
  let next: number | undefined = 0;
  while (next !== undefined && read < SCAN_LIMIT) {
    const page = await broker.listDeadLetters(queue, { limit: 500, offset: next });
    read += page.items.length;
    for (const e of page.items) {
      const matches = (filter.since === undefined || e.deadAt >= filter.since) && (!filter.reason || e.reason === filter.reason) && errorTypeOf(e) === selection.errorType;
      if (matches) ids.add(e.envelope.id);
    }
    next = page.nextOffset;
  }
  return { filter: { ...filter, ids: [...ids] }, capped: next !== undefined };
}
