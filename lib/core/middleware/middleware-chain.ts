import { assertValidEnvelope } from '../envelope-validator.js';
import type { Envelope } from '../envelope.js';
import { MiddlewareError } from '../errors/middleware.error.js';
import { StemError } from '../errors/stem.error.js';
import { type EnqueueDraft, middlewareName, type StemMiddleware } from './stem-middleware.js';

/** Raised inside the other calls of an `enqueueMany` when one call's middleware rejected it. */
class BatchAborted extends Error {}

/**
 * A producer's or worker's middleware, in order. `use()` adds more later (the Nest module adds
 * the discovered `@StemMiddleware()` providers at init); each enqueue reads the list afresh.
 */
export class StemMiddlewareChain {
  private readonly entries: { readonly middleware: StemMiddleware; readonly name: string }[] = [];

  constructor(middleware: readonly StemMiddleware[] = []) {
    this.use(...middleware);
  }

  /** Appends middleware (after those already there). */
  use(...middleware: StemMiddleware[]): this {
    for (const m of middleware) this.entries.push({ middleware: m, name: middlewareName(m, this.entries.length) });
    return this;
  }

  /** The middleware, in order. */
  get list(): readonly StemMiddleware[] {
    return this.entries.map((e) => e.middleware);
  }

  /** The middleware with `hook`, with their names, in order. */
  having(hook: keyof StemMiddleware): readonly { readonly middleware: StemMiddleware; readonly name: string }[] {
    return this.entries.filter((e) => typeof e.middleware[hook] === 'function');
  }

  /**
   * Runs `onEnqueue` around `publish`: the first middleware outermost. `publish` gets the
   * envelope with the headers and meta the middleware left. A throw of a middleware itself
   * becomes a {@link MiddlewareError}; errors of `publish` pass through unchanged.
   */
  async enqueue(envelope: Envelope, publish: (envelope: Envelope) => Promise<string>): Promise<string> {
    const chain = this.having('onEnqueue');
    if (chain.length === 0) return publish(envelope);
    const draft: EnqueueDraft = { envelope, headers: { ...envelope.headers }, meta: { ...envelope.meta } };
    const downstream = new Set<unknown>();
    const call = async (index: number): Promise<string> => {
      if (index === chain.length) {
        const final: Envelope = { ...envelope, headers: { ...draft.headers }, meta: { ...draft.meta } };
        try {
          assertValidEnvelope(final);
        } catch (error) {
          throw new MiddlewareError(chain.map((c) => c.name).join(', '), 'onEnqueue', envelope.name, envelope.queue, error);
        }
        return publish(final);
      }
      const { middleware, name } = chain[index]!;
      let called = false;
      const next = (): Promise<string> => {
        if (called) return Promise.reject(new MiddlewareError(name, 'onEnqueue', envelope.name, envelope.queue, new Error('next() was called twice')));
        called = true;
        return call(index + 1).catch((error: unknown) => {
          downstream.add(error);
          throw error;
        });
      };
      let id: string;
      try {
        id = await middleware.onEnqueue!(draft, next);
      } catch (error) {
        if (downstream.has(error)) throw error;
        throw new MiddlewareError(name, 'onEnqueue', envelope.name, envelope.queue, error);
      }
      if (!called) throw new MiddlewareError(name, 'onEnqueue', envelope.name, envelope.queue, new Error('it returned without calling next(); throw to reject an enqueue'));
      return id;
    };
    return call(0);
  }

  /**
   * {@link enqueue} for a batch: every call runs its middleware, and once all of them reached
   * `publish` the envelopes go out in one `publishMany`. When a middleware rejects one call,
   * nothing is published and that rejection is thrown.
   */
  async enqueueBatch(envelopes: readonly Envelope[], publishMany: (envelopes: Envelope[]) => Promise<string[]>): Promise<string[]> {
    if (this.having('onEnqueue').length === 0 || envelopes.length === 0) return publishMany([...envelopes]);
    const ready: Envelope[] = new Array<Envelope>(envelopes.length);
    const arrived = new Array<boolean>(envelopes.length).fill(false);
    let settled = 0;
    let aborted = false;
    let release!: (ids: string[]) => void;
    let fail!: (error: unknown) => void;
    const batch = new Promise<string[]>((resolve, reject) => ((release = resolve), (fail = reject)));
    batch.catch(() => undefined);
    const settle = () => {
      if (++settled < envelopes.length) return;
      if (aborted) fail(new BatchAborted('another call of this enqueueMany was rejected'));
      else publishMany(ready).then(release, fail);
    };
    const runs = envelopes.map((envelope, i) =>
      this.enqueue(envelope, async (final) => {
        ready[i] = final;
        arrived[i] = true;
        settle();
        return (await batch)[i]!;
      }).catch((error: unknown) => {
        if (!arrived[i]) {
          aborted = true;
          arrived[i] = true;
          settle();
        }
        throw error;
      }),
    );
    const results = await Promise.allSettled(runs);
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    if (failures.length === 0) return results.map((r) => (r as PromiseFulfilledResult<string>).value);
    const own = failures.find((e) => !(e instanceof BatchAborted) && !(e instanceof MiddlewareError && e.cause instanceof BatchAborted));
    throw own ?? failures[0];
  }
}

/**
 * {@link StemMiddlewareChain.enqueueBatch} where one call's rejection rejects only that call: the
 * calls whose middleware reached `publish` go out together in one `publishMany` (which reports
 * per envelope), and each call settles on its own.
 */
export async function enqueueBatchSettled(
  chain: StemMiddlewareChain,
  envelopes: readonly Envelope[],
  publishMany: (envelopes: Envelope[]) => Promise<PromiseSettledResult<string>[]>,
): Promise<PromiseSettledResult<string>[]> {
  if (chain.having('onEnqueue').length === 0 || envelopes.length === 0) return publishMany([...envelopes]);
  const ready = new Map<number, Envelope>();
  let settled = 0;
  let release!: (results: Map<number, PromiseSettledResult<string>>) => void;
  let fail!: (error: unknown) => void;
  const batch = new Promise<Map<number, PromiseSettledResult<string>>>((resolve, reject) => ((release = resolve), (fail = reject)));
  batch.catch(() => undefined);
  const settle = () => {
    if (++settled < envelopes.length) return;
    const indexes = [...ready.keys()].sort((a, b) => a - b);
    // NOTE: publishMany is called even with no envelope, so the calls waiting on it all settle.
    publishMany(indexes.map((i) => ready.get(i)!)).then((results) => release(new Map(indexes.map((index, k) => [index, results[k]!]))), fail);
  };
  const runs = envelopes.map((envelope, i) => {
    let arrived = false;
    let published: string | undefined;
    return chain
      .enqueue(envelope, async (final) => {
        arrived = true;
        ready.set(i, final);
        settle();
        const result = (await batch).get(i)!;
        if (result.status === 'rejected') throw result.reason;
        published = result.value;
        return result.value;
      })
      .catch((error: unknown) => {
        // NOTE: a middleware that throws after its `next()` published the task does not unpublish
        // it: the call is reported as enqueued, since a worker will run it.
        if (published !== undefined) return published;
        if (!arrived) {
          arrived = true;
          settle();
        }
        throw error;
      });
  });
  return Promise.allSettled(runs);
}

/** Whether an error a middleware threw is kept as is (a Stem error with a meaning, like `UnrecoverableError`) rather than wrapped. */
export function keepsMeaning(error: unknown): boolean {
  return error instanceof StemError;
}
