import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BatchConflictError,
  Canvas,
  GroupNotFoundError,
  type GroupResultItem,
  GroupResultsTimeoutError,
  SimpleTaskRegistry,
  Stem,
  task,
  type TaskHandler,
  UnrecoverableError,
  Worker,
} from '../../lib/core/index.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import type { CanvasAdapterFactory } from './canvas.suite.js';

/** Promises a test resolves by key, so tasks finish in the order the test chooses. */
class Gates {
  private readonly open = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  readonly started = new Set<string>();

  private gate(key: string) {
    let gate = this.open.get(key);
    if (!gate) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.open.set(key, (gate = { promise, resolve }));
    }
    return gate;
  }

  wait(key: string): Promise<void> {
    this.started.add(key);
    return this.gate(key).promise;
  }

  release(...keys: string[]): void {
    for (const key of keys) this.gate(key).resolve();
  }
}

const until = async (check: () => Promise<boolean> | boolean, what: string, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** Batches (`submitBatch`, `inspectBatch`) and `group.results()` on one adapter. */
export function runBatchTests(adapter: string, factory: CanvasAdapterFactory): void {
  describe(`Batches and group results: ${adapter}`, () => {
    const workers: Worker[] = [];
    afterEach(async () => {
      for (const w of workers.splice(0)) await w.close({ mode: 'hard' });
      await factory.dispose();
    });

    // NOTE: a queue per test, so a member a failed test left behind never takes a later test's worker.
    let queue = uniqueName('batch');
    beforeEach(() => {
      queue = uniqueName('batch');
    });
    const gates = new Gates();
    const gated: TaskHandler<{ key: string; fail?: boolean }, string> = {
      name: 'batch.gated',
      call: async (_ctx, a) => {
        await gates.wait(a.key);
        if (a.fail) throw new UnrecoverableError(`member ${a.key} failed`);
        return a.key.toUpperCase();
      },
    };
    const registry = new SimpleTaskRegistry([gated]);
    const member = (key: string, fail = false) => task<string>('batch.gated', { key, fail }, { queue });

    /** A producer and canvas on their own store instances (another process, as far as the store can tell). */
    async function client() {
      const parts = await factory.create();
      const stem = new Stem({ ...parts, registry });
      return { ...parts, stem, canvas: new Canvas(stem) };
    }
    async function startWorker() {
      const parts = await factory.create();
      const worker = new Worker({ ...parts, registry, queues: [queue], concurrency: 8 });
      workers.push(worker);
      await worker.start();
      return worker;
    }

    it('enqueues a batch once: a second submission with the same id returns the same task ids and enqueues nothing', async () => {
      const { canvas, broker } = await client();
      const batchId = uniqueName('b');
      const keys = [uniqueName('k'), uniqueName('k'), uniqueName('k')];
      const first = await canvas.submitBatch(
        keys.map((k) => member(k)),
        { batchId },
      );
      const again = await canvas.submitBatch(
        keys.map((k) => member(k)),
        { batchId },
      );
      expect(first).toMatchObject({ batchId, created: true });
      expect(again).toMatchObject({ batchId, created: false, taskIds: first.taskIds });
      expect(await broker.pendingCount(queue)).toBe(3);
      expect(await canvas.inspectBatch(batchId)).toMatchObject({ state: 'pending', expected: 3, completed: 0, counts: { queued: 3, running: 0 }, taskIds: first.taskIds });

      await startWorker();
      gates.release(...keys);
      const result = await again.wait({ timeout: 10_000 });
      expect(result.values).toEqual(keys.map((k) => k.toUpperCase()));
      expect(await again.inspect()).toMatchObject({ state: 'succeeded', isTerminal: true, completed: 3, counts: { succeeded: 3, failed: 0 }, failedTaskIds: [] });
      expect(await broker.pendingCount(queue)).toBe(0);
    });

    it('creates and enqueues a batch once when many producers on separate connections submit it at the same time', async () => {
      const producers = await Promise.all(Array.from({ length: 6 }, () => client()));
      const batchId = uniqueName('b');
      const keys = Array.from({ length: 5 }, () => uniqueName('k'));
      const submissions = await Promise.all(
        producers.map((p) =>
          p.canvas.submitBatch(
            keys.map((k) => member(k)),
            { batchId },
          ),
        ),
      );
      expect(submissions.filter((s) => s.created)).toHaveLength(1);
      for (const s of submissions) expect(s.taskIds).toEqual(submissions[0]!.taskIds);
      await until(async () => (await producers[0]!.broker.pendingCount(queue)) === 5, 'five members published');
      await startWorker();
      gates.release(...keys);
      await submissions[0]!.wait({ timeout: 10_000 });
      expect(await producers[3]!.canvas.inspectBatch(batchId)).toMatchObject({ state: 'succeeded', counts: { succeeded: 5 } });
    });

    it('reports pending, running, then partial with the failed task ids', async () => {
      const { canvas } = await client();
      const keys = [uniqueName('k'), uniqueName('k'), uniqueName('k')];
      const batch = await canvas.submitBatch([member(keys[0]!), member(keys[1]!, true), member(keys[2]!)]);
      expect((await batch.inspect())!.state).toBe('pending');
      await startWorker();
      await until(() => keys.every((k) => gates.started.has(k)), 'all members started');
      await until(async () => (await batch.inspect())!.counts.running === 3, 'three members running');
      expect(await batch.inspect()).toMatchObject({ state: 'running', isTerminal: false, completed: 0 });
      gates.release(keys[0]!);
      await until(async () => (await batch.inspect())!.completed === 1, 'one member finished');
      expect(await batch.inspect()).toMatchObject({ state: 'running', counts: { succeeded: 1, running: 2 } });
      gates.release(keys[1]!, keys[2]!);
      await batch.wait({ timeout: 10_000 });
      expect(await batch.inspect()).toMatchObject({ state: 'partial', isTerminal: true, completed: 3, counts: { succeeded: 2, failed: 1 }, failedTaskIds: [batch.taskIds[1]] });
    });

    it('reports failed when every member failed', async () => {
      const { canvas } = await client();
      const keys = [uniqueName('k'), uniqueName('k')];
      await startWorker();
      gates.release(...keys);
      const batch = await canvas.submitBatch(keys.map((k) => member(k, true)));
      await batch.wait({ timeout: 10_000 });
      expect(await batch.inspect()).toMatchObject({ state: 'failed', counts: { failed: 2, succeeded: 0 }, failedTaskIds: batch.taskIds });
    });

    it('refuses a batch id that names a plain group or a batch of another size, enqueueing nothing', async () => {
      const { canvas, broker } = await client();
      const group = await canvas.group([member(uniqueName('k'))]);
      await expect(canvas.submitBatch([member('x')], { batchId: group.groupId })).rejects.toThrow(BatchConflictError);
      const batch = await canvas.submitBatch([member('x'), member('y')]);
      await expect(canvas.submitBatch([member('x')], { batchId: batch.batchId })).rejects.toThrow(`Batch ${batch.batchId} was submitted before with 2 tasks, now with 1`);
      expect(await broker.pendingCount(queue)).toBe(3);
      await expect(canvas.submitBatch([])).rejects.toThrow('needs at least one signature');
    });

    it('one member that cannot be enqueued fails alone: the others are enqueued and run, it is reported and recorded failed', async () => {
      const { canvas, broker, stem } = await client();
      const batchId = uniqueName('b');
      const keys = [uniqueName('k'), uniqueName('k'), uniqueName('k')];
      const overQuota = uniqueName('over-quota');
      stem.middleware.use({
        name: 'quota',
        onEnqueue: (draft, next) => {
          if ((draft.envelope.args as { key?: string }).key === overQuota) throw new Error('tenant over quota');
          return next();
        },
      });
      const signatures = [member(keys[0]!), task<string>('batch.missing', {}, { queue }), member(keys[1]!), member(overQuota), member(keys[2]!)];
      const batch = await canvas.submitBatch(signatures, { batchId });
      expect(batch.rejected.map((r) => [r.index, r.name, r.taskId])).toEqual([
        [1, 'batch.missing', batch.taskIds[1]],
        [3, 'batch.gated', batch.taskIds[3]],
      ]);
      expect(batch.rejected[0]!.error).toMatchObject({ type: 'UnknownTaskError', retryable: false });
      expect(batch.rejected[0]!.error.message).toMatch(
        new RegExp(`^batch "${batchId}" member 1 \\(task "batch\\.missing", id ${batch.taskIds[1]}\\) was not enqueued: .*"batch\\.missing"`),
      );
      expect(batch.rejected[1]!.error).toMatchObject({ type: 'MiddlewareError' });
      expect(batch.rejected[1]!.error.message).toMatch(/member 3 \(task "batch\.gated".*was not enqueued: Middleware "quota" rejected .*tenant over quota/);
      expect(await broker.pendingCount(queue)).toBe(3);
      expect(await stem.getTaskStatus(batch.taskIds[1]!)).toMatchObject({ state: 'failed', error: { type: 'UnknownTaskError' } });

      await startWorker();
      gates.release(...keys);
      const result = await batch.wait({ timeout: 10_000 });
      expect(result.values).toEqual([keys[0]!.toUpperCase(), undefined, keys[1]!.toUpperCase(), undefined, keys[2]!.toUpperCase()]);
      expect(result.members[1]).toMatchObject({ state: 'failed', error: { type: 'UnknownTaskError' } });
      expect(await batch.inspect()).toMatchObject({
        state: 'partial',
        isTerminal: true,
        counts: { succeeded: 3, failed: 2 },
        failedTaskIds: [batch.taskIds[1], batch.taskIds[3]],
      });
      // Submitting again reports the same members, enqueues nothing more.
      const again = await canvas.submitBatch(signatures, { batchId });
      expect(again).toMatchObject({ created: false, taskIds: batch.taskIds });
      expect(again.rejected.map((r) => r.index)).toEqual([1, 3]);
      expect(await broker.pendingCount(queue)).toBe(0);
    });

    it('forgets a batch after its ttl; the id then starts a new batch', async () => {
      const { canvas } = await client();
      const batchId = uniqueName('b');
      const first = await canvas.submitBatch([member(uniqueName('k'))], { batchId, ttl: 300 });
      expect(await canvas.inspectBatch(batchId)).not.toBeNull();
      await until(async () => (await canvas.inspectBatch(batchId)) === null, 'batch expired', 5_000);
      const second = await canvas.submitBatch([member(uniqueName('k'))], { batchId });
      expect(second.created).toBe(true);
      expect(second.taskIds).not.toEqual(first.taskIds);
    });

    it('publishes the members on the next submission when the first one failed to publish them', async () => {
      const failing = await client();
      failing.stem.enqueueMany = () => Promise.reject(new Error('broker down'));
      failing.stem.enqueueManySettled = () => Promise.reject(new Error('broker down'));
      const healthy = await client();
      const batchId = uniqueName('b');
      const keys = [uniqueName('k'), uniqueName('k')];
      await expect(
        failing.canvas.submitBatch(
          keys.map((k) => member(k)),
          { batchId },
        ),
      ).rejects.toThrow('broker down');
      expect(await healthy.broker.pendingCount(queue)).toBe(0);
      const retry = await healthy.canvas.submitBatch(
        keys.map((k) => member(k)),
        { batchId },
      );
      expect(retry.created).toBe(false);
      expect(await healthy.broker.pendingCount(queue)).toBe(2);
      await startWorker();
      gates.release(...keys);
      expect((await retry.wait({ timeout: 10_000 })).values).toEqual(keys.map((k) => k.toUpperCase()));
      expect(
        await healthy.canvas.submitBatch(
          keys.map((k) => member(k)),
          { batchId },
        ),
      ).toMatchObject({ created: false, taskIds: retry.taskIds });
      expect(await healthy.broker.pendingCount(queue)).toBe(0);
    });

    it('group.results() yields members in completion order, a failed one with its error, each once', async () => {
      const { canvas } = await client();
      const reader = await client();
      await startWorker();
      const keys = [uniqueName('k'), uniqueName('k'), uniqueName('k')];
      const group = await canvas.group([member(keys[0]!), member(keys[1]!, true), member(keys[2]!)]);
      const iterator = reader.canvas.groupResults<string>(group.groupId, { timeout: 10_000 })[Symbol.asyncIterator]();
      const seen: GroupResultItem<string>[] = [];
      for (const [index, key] of [
        [2, keys[2]!],
        [0, keys[0]!],
        [1, keys[1]!],
      ] as const) {
        gates.release(key);
        const next = await iterator.next();
        expect(next.done).toBe(false);
        expect(next.value).toMatchObject({ index, taskId: group.taskIds[index] });
        seen.push(next.value as GroupResultItem<string>);
      }
      expect(await iterator.next()).toEqual({ done: true, value: undefined });
      expect(seen.map((r) => [r.state, r.value ?? r.error?.message])).toEqual([
        ['succeeded', keys[2]!.toUpperCase()],
        ['succeeded', keys[0]!.toUpperCase()],
        ['failed', `member ${keys[1]} failed`],
      ]);
      // Iterating again after the group finished replays the same completion order.
      const again: number[] = [];
      for await (const r of group.results()) again.push(r.index);
      expect(again).toEqual([2, 0, 1]);
    });

    it('group.results() ends at its timeout with an error naming the group, and quietly when aborted', async () => {
      const { canvas } = await client();
      await startWorker();
      const [done, stuck] = [uniqueName('k'), uniqueName('k')];
      gates.release(done);
      const group = await canvas.group([member(done), member(stuck)]);
      const got: number[] = [];
      const iterate = async (options: Parameters<typeof group.results>[0]) => {
        for await (const r of group.results(options)) got.push(r.index);
      };
      await expect(iterate({ timeout: 500 })).rejects.toThrow(GroupResultsTimeoutError);
      await expect(iterate({ timeout: 500 })).rejects.toThrow(`Group ${group.groupId}: 1 of 2 members finished within 500 ms`);
      expect(got).toEqual([0, 0]);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      await iterate({ timeout: 10_000, signal: controller.signal });
      expect(got).toEqual([0, 0, 0]);
      await expect(iterate({ timeout: 500, pollInterval: 10 }).then(() => 'done')).rejects.toThrow(GroupResultsTimeoutError);
      const unknown = canvas.groupResults(uniqueName('missing'))[Symbol.asyncIterator]();
      await expect(unknown.next()).rejects.toThrow(GroupNotFoundError);
      gates.release(stuck);
    });
  });
}
