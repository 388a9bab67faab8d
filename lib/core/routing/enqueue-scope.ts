import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<Readonly<Record<string, unknown>>>();

/**
 * Runs `fn` with `meta` added to every enqueue made inside it, by any producer of this process
 * (and so from task handlers and workflow steps that enqueue while `fn` runs). Scopes nest: an
 * inner scope's keys win over an outer one's. A call's own `meta` wins over the scope's.
 *
 * @example
 * await withEnqueueMeta({ requestId: req.id }, () => stem.enqueue('email.send', body));
 */
export function withEnqueueMeta<T>(meta: Readonly<Record<string, unknown>>, fn: () => T): T {
  const outer = scope.getStore();
  return scope.run(outer ? { ...outer, ...meta } : { ...meta }, fn);
}

/** The meta of the enclosing {@link withEnqueueMeta} scopes (merged), or `undefined` outside any. */
export function enqueueScopeMeta(): Readonly<Record<string, unknown>> | undefined {
  return scope.getStore();
}
