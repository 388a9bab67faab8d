import { BatchItemFailure } from './postgres.batcher.js';
import { isNotSentError, retryTransient } from './postgres.connection.js';

/** How {@link setOrEach} runs a batch: one set-based statement, or one statement per item. */
export interface SetOrEachSteps<T, R> {
  /** The set-based statement for the whole batch; its results, one per item. */
  readonly together: () => Promise<R[]>;
  /** The statement for one item. */
  readonly one: (item: T) => Promise<R>;
  /** Errors of `together` after which the items go one by one (others fail the batch). */
  readonly fallBackOn: (error: unknown) => boolean;
  /** One by one in call order (`false`) or all at once (`true`). @default false */
  readonly concurrent?: boolean;
}

/** Sends `run`, again while it fails before reaching the server (never when it might have run). */
export function untilSent<R>(run: () => Promise<R>): Promise<R> {
  return retryTransient(run, 10_000, isNotSentError);
}

/**
 * Runs a batch of two or more items as one set-based statement; when the database refuses it in
 * a way `fallBackOn` accepts (the values of a row, a lock conflict: nothing was committed), each
 * item is sent on its own, so only the one at fault fails. A single item is sent on its own.
 * Each statement is sent again while it fails before reaching the server.
 */
export async function setOrEach<T, R>(items: readonly T[], steps: SetOrEachSteps<T, R>): Promise<(R | BatchItemFailure)[]> {
  if (items.length > 1) {
    try {
      return await untilSent(steps.together);
    } catch (error) {
      if (!steps.fallBackOn(error)) throw error;
    }
  }
  return eachAlone(items, steps.one, steps.concurrent ?? false);
}

/** One statement per item, each failure kept to its item. */
export async function eachAlone<T, R>(items: readonly T[], one: (item: T) => Promise<R>, concurrent = false): Promise<(R | BatchItemFailure)[]> {
  if (concurrent) {
    const settled = await Promise.allSettled(items.map((item) => untilSent(() => one(item))));
    return settled.map((r) => (r.status === 'fulfilled' ? r.value : new BatchItemFailure(r.reason)));
  }
  const out: (R | BatchItemFailure)[] = [];
  for (const item of items) {
    try {
      out.push(await untilSent(() => one(item)));
    } catch (error) {
      out.push(new BatchItemFailure(error));
    }
  }
  return out;
}

/**
 * Runs a batch for a statement that can touch each key once: the first item of each key goes
 * to `firsts` (one set-based statement for them all), then the later items of a key one by one
 * through `one`, in call order. Results come back in the order of `items`.
 */
export async function firstsThenRepeats<T, R>(
  items: readonly T[],
  keyOf: (item: T) => string,
  firsts: (items: T[]) => Promise<(R | BatchItemFailure)[]>,
  one: (item: T) => Promise<R>,
): Promise<(R | BatchItemFailure)[]> {
  const seen = new Set<string>();
  const first: number[] = [];
  const later: number[] = [];
  items.forEach((item, i) => {
    const key = keyOf(item);
    if (seen.has(key)) later.push(i);
    else {
      seen.add(key);
      first.push(i);
    }
  });
  const out: (R | BatchItemFailure)[] = new Array(items.length);
  const firstResults = await firsts(first.map((i) => items[i]!));
  first.forEach((at, k) => (out[at] = firstResults[k]!));
  const laterResults = await eachAlone(
    later.map((i) => items[i]!),
    one,
  );
  later.forEach((at, k) => (out[at] = laterResults[k]!));
  return out;
}

/**
 * Runs `send` on `items` sorted by `idOf` (so statements on the same rows take their locks in
 * much the same order) and puts its rows back in the items' order: each row's `ord` is its
 * item's 1-based position in the sorted list, as `WITH ORDINALITY` numbers it. An item without
 * a row is left `undefined`.
 */
export async function inIdOrder<T, R extends { ord: string }>(items: readonly T[], idOf: (item: T) => string, send: (sorted: T[]) => Promise<R[]>): Promise<R[]> {
  const order = items.map((_, i) => i).sort((a, b) => (idOf(items[a]!) < idOf(items[b]!) ? -1 : 1));
  const rows = await send(order.map((i) => items[i]!));
  const out: R[] = new Array(items.length);
  for (const row of rows) out[order[Number(row.ord) - 1]!] = row;
  return out;
}
