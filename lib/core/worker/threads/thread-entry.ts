import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { UnrecoverableError } from '../../errors/unrecoverable.error.js';
import { reviveError, serializeError } from './thread-errors.js';
import type { FromThread, ThreadHandlerFn, ThreadHandlerLookup, ThreadTarget, ThreadWorkerData, ToThread } from './thread-protocol.js';
import { ThreadTaskContext } from './thread-task-context.js';

// The code of one pool thread: loads task targets, runs one task at a time, proxies its `ctx`.

const port = parentPort!;
const data = workerData as ThreadWorkerData;
const targets = new Map<string, Promise<ThreadHandlerLookup>>();
const aborts = new Map<number, AbortController>();
const replies = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
let nextCall = 0;

function post(message: FromThread): void {
  port.postMessage(message);
}

function keyOf(target: ThreadTarget): string {
  return `${target.kind ?? 'function'}|${target.file}|${target.export}|${JSON.stringify(target.data ?? null)}`;
}

async function load(target: ThreadTarget): Promise<ThreadHandlerLookup> {
  const url = isAbsolute(target.file) ? pathToFileURL(target.file).href : target.file;
  const mod = (await import(url)) as Record<string, unknown>;
  const exported = mod[target.export];
  if (typeof exported !== 'function') {
    throw new TypeError(`Thread target ${target.file} has no function export "${target.export}" (found ${typeof exported}); export the handler or fix the "export" name`);
  }
  if (target.kind === 'factory') return (await (exported as (data: unknown) => Promise<ThreadHandlerLookup>)(target.data)) as ThreadHandlerLookup;
  const fn = exported as (args: unknown, ctx: unknown) => unknown;
  return () => (ctx, args) => fn(args, ctx);
}

function lookupOf(target: ThreadTarget): Promise<ThreadHandlerLookup> {
  const key = keyOf(target);
  let lookup = targets.get(key);
  if (!lookup) {
    lookup = load(target);
    targets.set(key, lookup);
    // NOTE: a failed boot is retried by the next task instead of failing every task for good.
    lookup.catch(() => targets.delete(key));
  }
  return lookup;
}

function heapUsedMb(): number {
  return getHeapStatistics().used_heap_size / (1024 * 1024);
}

async function run(message: Extract<ToThread, { t: 'run' }>): Promise<void> {
  const controller = new AbortController();
  aborts.set(message.id, controller);
  try {
    const handler: ThreadHandlerFn | undefined = (await lookupOf(message.target))(message.task);
    if (!handler) throw new TypeError(`Task "${message.task}" has no handler in thread target ${message.target.file}#${message.target.export}`);
    post({ t: 'started', id: message.id });
    const call = (method: Parameters<ConstructorParameters<typeof ThreadTaskContext>[2]>[0], params: readonly unknown[]) =>
      new Promise<unknown>((resolve, reject) => {
        const id = nextCall++;
        replies.set(id, { resolve, reject });
        post({ t: 'call', id: message.id, call: id, method, params });
      });
    const ctx = new ThreadTaskContext(message.ctx, controller.signal, call);
    const value = await handler(ctx, message.args);
    try {
      post({ t: 'done', id: message.id, ok: true, value, heapUsedMb: heapUsedMb() });
    } catch (error) {
      // NOTE: a result that does not survive structured clone never will: no retries.
      throw new UnrecoverableError(`the result of task "${message.task}" cannot leave its thread: ${(error as Error).message}`);
    }
  } catch (error) {
    post({ t: 'done', id: message.id, ok: false, error: serializeError(error), heapUsedMb: heapUsedMb() });
  } finally {
    aborts.delete(message.id);
  }
}

port.on('message', (message: ToThread) => {
  if (message.t === 'run') void run(message);
  else if (message.t === 'abort') aborts.get(message.id)?.abort(reviveError(message.reason));
  else {
    const pending = replies.get(message.call);
    replies.delete(message.call);
    if (message.ok) pending?.resolve(message.value);
    else pending?.reject(reviveError(message.error!));
  }
});

for (const target of data.preload) lookupOf(target).catch(() => undefined);
