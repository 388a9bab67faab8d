import { markRemoteError } from '../../errors/remote-error.js';
import { TaskRetryRequest } from '../../errors/task-retry-request.error.js';
import { UnrecoverableError } from '../../errors/unrecoverable.error.js';
import type { SerializedError } from './thread-protocol.js';

const BUILTIN_ERRORS: Readonly<Record<string, ErrorConstructor>> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * An error in a form that crosses a thread boundary: `name` (the class name when the class left
 * it at `Error`), `message`, `stack`, the class names of its prototype chain and its own fields.
 */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: typeof error === 'string' ? error : String(error), chain: ['Error'], fields: {} };
  const chain: string[] = [];
  for (let proto = Object.getPrototypeOf(error) as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name;
    if (name) chain.push(name);
    if (name && BUILTIN_ERRORS[name]) break;
  }
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'name' || key === 'message' || key === 'stack') continue;
    if (cloneable(value)) fields[key] = value;
  }
  const name = error.name && error.name !== 'Error' ? error.name : (chain[0] ?? 'Error');
  return { name, message: error.message, ...(error.stack ? { stack: error.stack } : {}), chain, fields };
}

const revivedClasses = new Map<string, ErrorConstructor>();

/** A class per chain of names, so `error.constructor.name` and the class chain read as in the thread. */
function classFor(chain: readonly string[]): ErrorConstructor {
  const key = chain.join('<');
  let cls = revivedClasses.get(key);
  if (cls) return cls;
  const base = chain.length > 0 ? BUILTIN_ERRORS[chain[chain.length - 1]!] : undefined;
  cls = base ?? Error;
  for (const name of (base ? chain.slice(0, -1) : chain).toReversed()) {
    const parent = cls;
    const child = class extends parent {};
    Object.defineProperty(child, 'name', { value: name });
    cls = child as unknown as ErrorConstructor;
  }
  revivedClasses.set(key, cls);
  return cls;
}

/**
 * Rebuilds an error sent by a thread. Stem's own control-flow errors (`ctx.retry()`,
 * `UnrecoverableError`) come back as their classes; any other error as an instance of a class
 * with the original class names, its `name`, `message`, thread `stack` and own fields, so retry
 * filters (`autoRetryFor`, `dontAutoRetryFor`) match it as they match the original.
 */
export function reviveError(serialized: SerializedError): Error {
  const fields = serialized.fields;
  let error: Error;
  if (serialized.chain[0] === 'TaskRetryRequest' && serialized.chain.includes('StemError')) {
    error = new TaskRetryRequest(fields.countdown as number | undefined, fields.reason as string | undefined);
  } else if (serialized.chain[0] === 'UnrecoverableError' && serialized.chain.includes('StemError')) {
    error = new UnrecoverableError(serialized.message);
  } else {
    const Cls = classFor(serialized.chain);
    error = new Cls(serialized.message);
    Object.assign(error, fields);
    error.name = serialized.name;
  }
  if (serialized.stack) error.stack = serialized.stack;
  markRemoteError(error, serialized.chain);
  return error;
}
