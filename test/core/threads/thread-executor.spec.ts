import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../../lib/adapters/memory/index.js';
import {
  SimpleTaskRegistry,
  Stem,
  type TaskHandler,
  type TaskLogSink,
  TestClock,
  ThreadExecutor,
  type ThreadExecutorOptions,
  threadTask,
  Worker,
} from '../../../lib/core/index.js';
import { TS_THREAD_EXEC_ARGV } from '../../support/thread-loader.js';
import { QuotaError } from './fixtures/thread-tasks.js';

const TASKS = new URL('./fixtures/thread-tasks.ts', import.meta.url).href;
const fastRetry = { backoff: 10, jitter: false };

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function task(name: string, exported: string, options: Parameters<typeof threadTask>[0]['options'] = {}): TaskHandler {
  return threadTask({ name, file: TASKS, export: exported, options });
}

function setup(handlers: TaskHandler[], threads: ThreadExecutorOptions = {}, concurrency = 2, taskLogSink?: TaskLogSink) {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const registry = new SimpleTaskRegistry([task('threads.echo', 'echo'), ...handlers]);
  const stem = new Stem({ broker, backend, registry });
  const executor = new ThreadExecutor({ size: 2, execArgv: TS_THREAD_EXEC_ARGV, ...threads });
  const worker = new Worker({ broker, backend, registry, concurrency, executors: { thread: executor }, ...(taskLogSink ? { taskLogSink } : {}) });
  closers.push(async () => {
    await worker.close({ mode: 'hard' });
    await broker.close();
  });
  return { broker, backend, stem, worker, executor };
}

const wait = { timeout: 20_000 };

async function finished<T>(stem: Stem, id: string) {
  const r = await stem.waitForTask<T>(id, wait);
  return { state: r.status?.state, result: r.value, error: r.status?.error };
}

describe('ThreadExecutor', () => {
  it('runs a task in a pool thread with its args and context, not on the main thread', async () => {
    const { stem, worker } = setup([]);
    await worker.start();
    const id = await stem.enqueue('threads.echo', { n: 3 });
    const result = await finished<{ n: number; threadId: number; attempt: number; queue: string }>(stem, id);
    expect(result.state).toBe('succeeded');
    expect(result.result).toMatchObject({ n: 3, attempt: 0, queue: 'default' });
    expect(result.result!.threadId).toBeGreaterThan(0);
  });

  it('kills an endless task at its hard time limit, replaces the thread, and keeps serving', async () => {
    const { stem, worker, executor } = setup([task('threads.spin', 'spin', { hardTimeLimit: 200, maxRetries: 0 })]);
    const replaced: string[] = [];
    executor.events.on('thread:replaced', (info) => replaced.push(info.reason));
    await worker.start();
    const spinning = await stem.enqueue('threads.spin', {});
    const failed = await finished(stem, spinning);
    expect(failed.state).toBe('failed');
    expect(failed.error?.type).toBe('TimeLimitExceededError');
    expect(replaced).toEqual(['time-limit']);

    const ids = await Promise.all(Array.from({ length: 10 }, (_, n) => stem.enqueue('threads.echo', { n })));
    const results = await Promise.all(ids.map((id) => finished<{ n: number }>(stem, id)));
    expect(results.map((r) => r.state)).toEqual(Array(10).fill('succeeded'));
    expect(results.map((r) => r.result!.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const pool = worker.stats().executors.thread as ReturnType<ThreadExecutor['stats']>;
    expect(pool).toMatchObject({ size: 2, busy: 0, replaced: { 'time-limit': 1 } });
  });

  it('replaces a thread after maxTasksPerThread tasks', async () => {
    const { stem, worker, executor } = setup([], { size: 1, maxTasksPerThread: 5 }, 1);
    const replaced: { reason: string; tasks: number }[] = [];
    executor.events.on('thread:replaced', (info) => replaced.push({ reason: info.reason, tasks: info.tasks }));
    await worker.start();
    const threads: number[] = [];
    for (let n = 0; n < 7; n++) {
      const id = await stem.enqueue('threads.echo', { n });
      threads.push((await finished<{ threadId: number }>(stem, id)).result!.threadId);
    }
    expect(new Set(threads.slice(0, 5)).size).toBe(1);
    expect(threads[5]).not.toBe(threads[0]);
    expect(threads[6]).toBe(threads[5]);
    expect(replaced).toEqual([{ reason: 'max-tasks', tasks: 5 }]);
    expect(executor.stats()).toMatchObject({ size: 1, replaced: { 'max-tasks': 1 } });
  });

  it('replaces a thread whose heap passed maxMemoryMb after a task', async () => {
    const { stem, worker, executor } = setup([task('threads.grow', 'grow')], { size: 1, maxMemoryMb: 64 }, 1);
    await worker.start();
    const small = await finished(stem, await stem.enqueue('threads.echo', { n: 1 }));
    expect(small.state).toBe('succeeded');
    expect(executor.stats().replaced.memory).toBe(0);
    const big = await finished(stem, await stem.enqueue('threads.grow', { mb: 96 }));
    expect(big.state).toBe('succeeded');
    expect(executor.stats().replaced.memory).toBe(1);
    const after = await finished<number>(stem, await stem.enqueue('threads.grow', { mb: 1 }));
    expect(after.result).toBe(1);
  });

  it('retries a custom error class from a thread by autoRetryFor on its class name, and not another error', async () => {
    const { stem, worker } = setup([
      task('threads.quota', 'failTwice', { maxRetries: 3, retryPolicy: { ...fastRetry, autoRetryFor: ['QuotaError'] } }),
      task('threads.other', 'failOther', { maxRetries: 3, retryPolicy: { ...fastRetry, autoRetryFor: ['QuotaError'] } }),
    ]);
    await worker.start();
    const quota = await finished(stem, await stem.enqueue('threads.quota', {}));
    expect(quota).toMatchObject({ state: 'succeeded', result: 'ok after 2' });
    const other = await finished(stem, await stem.enqueue('threads.other', {}));
    expect(other.state).toBe('failed');
    expect(other.error).toMatchObject({ type: 'TypeError', message: 'not a quota problem' });
    expect(other.error?.stack).toContain('failOther');
  });

  it('retries by a class matcher of the class the thread threw, and fails at once by dontAutoRetryFor', async () => {
    const { stem, worker } = setup([
      task('threads.byClass', 'failTwice', { maxRetries: 3, retryPolicy: { ...fastRetry, autoRetryFor: [QuotaError] } }),
      task('threads.denied', 'failTwice', { maxRetries: 3, retryPolicy: { ...fastRetry, dontAutoRetryFor: ['SpecificQuotaError'] } }),
    ]);
    await worker.start();
    expect(await finished(stem, await stem.enqueue('threads.byClass', {}))).toMatchObject({ state: 'succeeded', result: 'ok after 2' });
    const denied = await finished(stem, await stem.enqueue('threads.denied', {}));
    expect(denied.state).toBe('failed');
    expect(denied.error).toMatchObject({ type: 'SpecificQuotaError', message: 'quota exceeded on attempt 0' });
  });

  it('fails a task whose thread exits with ThreadExitedError and starts a new thread', async () => {
    const { stem, worker, executor } = setup([task('threads.crash', 'crash', { maxRetries: 0 })], { size: 1 }, 1);
    await worker.start();
    const crashed = await finished(stem, await stem.enqueue('threads.crash', {}));
    expect(crashed.state).toBe('failed');
    expect(crashed.error).toMatchObject({ type: 'ThreadExitedError', message: expect.stringContaining('exited with code 3') });
    expect(executor.stats().replaced.crashed).toBe(1);
    expect((await finished(stem, await stem.enqueue('threads.echo', { n: 2 }))).state).toBe('succeeded');
    expect(executor.stats()).toMatchObject({ size: 1, busy: 0 });
  });

  it('stops threads idle for idleTimeout and starts them again when work comes', async () => {
    const clock = new TestClock();
    const { stem, worker, executor } = setup([], { idleTimeout: 60_000, clock });
    const stopped: number[] = [];
    executor.events.on('thread:idle-stopped', ({ threadId }) => stopped.push(threadId));
    await worker.start();
    expect((await finished(stem, await stem.enqueue('threads.echo', { n: 1 }))).state).toBe('succeeded');
    expect(executor.stats().size).toBe(2);
    await clock.advance(59_000);
    expect(executor.stats().size).toBe(2);
    await clock.advance(1_000);
    expect(executor.stats()).toMatchObject({ size: 0, idleStopped: 2 });
    expect(stopped).toHaveLength(2);
    expect((await finished(stem, await stem.enqueue('threads.echo', { n: 2 }))).state).toBe('succeeded');
    expect(executor.stats().size).toBe(2);
  });

  it('fails at once, without retries, a result that cannot leave the thread', async () => {
    const { stem, worker } = setup([task('threads.unsendable', 'unsendable', { maxRetries: 3, retryPolicy: fastRetry })]);
    await worker.start();
    const result = await finished(stem, await stem.enqueue('threads.unsendable', {}));
    expect(result.state).toBe('failed');
    expect(result.error).toMatchObject({ type: 'UnrecoverableError', message: expect.stringContaining('cannot leave its thread') });
    expect(worker.stats().retried).toBe(0);
  });

  it('carries log lines, progress, heartbeat and child enqueue from a thread to the sink, backend and broker', async () => {
    const lines: { level: string; message: string; taskId: string; attempt: number; extra: unknown }[] = [];
    const sink: TaskLogSink = (level, message, fields, extra) => lines.push({ level, message, taskId: fields.taskId, attempt: fields.attempt, extra });
    const { stem, worker, backend } = setup([task('threads.progress', 'withProgress')], {}, 2, sink);
    const progress: number[] = [];
    worker.signals.on('task-progress', ({ percent }) => progress.push(percent));
    await worker.start();
    const id = await stem.enqueue('threads.progress', {});
    const result = await finished<string>(stem, id);
    expect(result.state).toBe('succeeded');
    expect(progress).toEqual([40]);
    expect(lines).toEqual([{ level: 'info', message: 'halfway', taskId: id, attempt: 0, extra: { step: 'half' } }]);
    const status = await backend.get(id);
    expect(status?.progress).toMatchObject({ percent: 40, data: { step: 'half' } });
    expect(status?.heartbeatAt).toBeGreaterThan(0);
    const child = await finished<{ n: number }>(stem, result.result!);
    expect(child.result?.n).toBe(7);
    expect((await backend.get(result.result!))?.state).toBe('succeeded');
  });

  it('honours ctx.retry() in a thread', async () => {
    const { stem, worker } = setup([task('threads.retry', 'askRetry', { maxRetries: 1 })]);
    await worker.start();
    const result = await finished(stem, await stem.enqueue('threads.retry', {}));
    expect(result).toMatchObject({ state: 'succeeded', result: 'retried' });
  });

  it('aborts ctx.signal in the thread at the soft time limit', async () => {
    const { stem, worker } = setup([task('threads.soft', 'untilAborted', { softTimeLimit: 100 })]);
    await worker.start();
    const result = await finished(stem, await stem.enqueue('threads.soft', {}));
    expect(result.result).toMatch(/^aborted: /);
  });

  it('worker.terminate() kills a running thread task and frees its thread', async () => {
    const { stem, worker, executor } = setup([task('threads.spin', 'spin', { maxRetries: 0 })]);
    const started = new Promise<string>((resolve) => worker.signals.on('task-prerun', ({ envelope: env }) => resolve(env.id)));
    await worker.start();
    const id = await stem.enqueue('threads.spin', {});
    expect(await started).toBe(id);
    await expect.poll(() => worker.terminate(id), wait).toBe(true);
    const result = await finished(stem, id);
    expect(result.error?.type).toBe('TaskTerminatedError');
    expect(executor.stats().replaced.terminated).toBe(1);
    expect((await finished(stem, await stem.enqueue('threads.echo', { n: 1 }))).state).toBe('succeeded');
  });
});
