/** Marks an error rebuilt from another thread or process: the class names of its original prototype chain. */
const REMOTE_CHAIN = Symbol.for('nestjs-stem.remoteErrorChain');

/**
 * The class names of the original error's prototype chain (most derived first) when `error` was
 * rebuilt from a thread; `undefined` for an error thrown here. Retry filters match a class
 * matcher against these names, since the original class does not exist on this side.
 */
export function remoteErrorChain(error: unknown): readonly string[] | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as { [REMOTE_CHAIN]?: readonly string[] })[REMOTE_CHAIN];
}

/** Records the class chain of a rebuilt error (see {@link remoteErrorChain}). */
export function markRemoteError(error: Error, chain: readonly string[]): void {
  Object.defineProperty(error, REMOTE_CHAIN, { value: chain, enumerable: false });
}
