import { afterEach, describe, expect, it } from 'vitest';
import type { GroupStore } from '../../lib/core/canvas/group-store.js';
import {
  Canvas,
  chordResults,
  defineTask,
  parentError,
  parentResult,
  SimpleTaskRegistry,
  Stem,
  StemHeaders,
  task,
  type Broker,
  type ResultBackend,
  type TaskHandler,
  UnrecoverableError,
  Worker,
} from '../../lib/core/index.js';

/** Instances on one shared backing store; `create` may be called several times per test. */
export interface CanvasAdapterFactory {
  create(): Promise<{ broker: Broker; backend: ResultBackend; groupStore: GroupStore }>;
  dispose(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jitter = () => sleep(Math.floor(Math.random() * 8));

/** End-to-end canvas behaviour (groups, chords, chains, links) on one adapter. */
export function runCanvasTests(adapter: string, factory: CanvasAdapterFactory): void {
  describe(`Canvas: ${adapter}`, () => {
    const workers: Worker[] = [];
    afterEach(async () => {
      for (const w of workers.splice(0)) await w.close({ mode: 'hard' });
      await factory.dispose();
    });

    async function setup(handlers: TaskHandler[], options: { workers?: number; concurrency?: number; groupStores?: (store: GroupStore) => void } = {}) {
      const { broker, backend, groupStore } = await factory.create();
      const registry = new SimpleTaskRegistry(handlers);
      const queues = [...new Set(handlers.map((h) => h.options?.queue ?? 'default'))];
      for (let i = 0; i < (options.workers ?? 1); i++) {
        const parts = i === 0 ? { broker, backend, groupStore } : await factory.create();
        options.groupStores?.(parts.groupStore);
        const worker = new Worker({ ...parts, registry, queues, concurrency: options.concurrency ?? 8 });
        workers.push(worker);
        await worker.start();
      }
      const stem = new Stem({ broker, backend, groupStore, registry });
      return { stem, canvas: new Canvas(stem), broker, backend, groupStore, registry };
    }

    const queue = `canvas-${Math.random().toString(36).slice(2, 8)}`;
    const square: TaskHandler<{ n: number }, number> = {
      name: 'canvas.square',
      options: { queue },
      call: async (_ctx, a) => {
        await jitter();
        return a.n * a.n;
      },
    };

    it('collects 100 group results in body order', async () => {
      const { canvas } = await setup([square], { concurrency: 16 });
      const dispatch = await canvas.group(Array.from({ length: 100 }, (_, n) => task<number>('canvas.square', { n })));
      expect(dispatch.taskIds).toHaveLength(100);
      const result = await dispatch.wait({ timeout: 15_000 });
      expect(result).toMatchObject({ isComplete: true, succeeded: true, timedOut: false });
      expect(result.values).toEqual(Array.from({ length: 100 }, (_, n) => n * n));
      expect(result.members.map((m) => m?.taskId)).toEqual(dispatch.taskIds);
    });

    it('runs a chord callback exactly once with ordered results across 4 workers', async () => {
      const calls: { results: number[]; chordHeader: string | undefined }[] = [];
      const sum: TaskHandler<unknown, number> = {
        name: 'canvas.sum',
        options: { queue },
        call: (ctx) => {
          const results = chordResults<number>(ctx);
          calls.push({ results, chordHeader: ctx.headers[StemHeaders.chordId] });
          return results.reduce((a, b) => a + b, 0);
        },
      };
      const { canvas } = await setup([square, sum], { workers: 4, concurrency: 4 });
      const body = Array.from({ length: 20 }, (_, n) => task<number>('canvas.square', { n }));
      const chord = await canvas.chord(body, task<number>('canvas.sum', {}));
      const result = await chord.wait({ timeout: 15_000 });
      expect(result.status?.state).toBe('succeeded');
      expect(result.value).toBe(Array.from({ length: 20 }, (_, n) => n * n).reduce((a, b) => a + b, 0));
      await sleep(200);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.results).toEqual(Array.from({ length: 20 }, (_, n) => n * n));
      expect(calls[0]!.chordHeader).toBe(chord.chordId);
    });

    it('runs a chord callback exactly once when the worker that claimed it died before publishing it', async () => {
      let callbackRuns = 0;
      const sum: TaskHandler<unknown, number> = {
        name: 'canvas.sum',
        options: { queue },
        call: (ctx) => {
          callbackRuns++;
          return chordResults<number>(ctx).reduce((a, b) => a + b, 0);
        },
      };
      // The first attempt to claim the chord takes the claim in the store and then "dies": it
      // neither publishes the callback nor releases the claim (as a worker killed right after the
      // claim). Claims hold 1.5 s here, longer than the 1 s until the last member is redelivered,
      // so the redelivered member waits for the claim to lapse and then takes it over.
      let crashed = false;
      const claims: boolean[] = [];
      const wrapped = new WeakSet<GroupStore>();
      const { canvas, groupStore } = await setup([square, sum], {
        workers: 2,
        concurrency: 4,
        groupStores: (store) => {
          if (wrapped.has(store)) return;
          wrapped.add(store);
          const claim = store.claimChord.bind(store);
          store.claimChord = async (groupId, callbackId, claimTimeout) => {
            const won = await claim(groupId, callbackId, claimTimeout ?? 1_500);
            claims.push(won);
            if (won && !crashed) {
              crashed = true;
              throw new Error('claimant died after claiming the chord');
            }
            return won;
          };
        },
      });
      const chord = await canvas.chord(
        [1, 2, 3, 4].map((n) => task<number>('canvas.square', { n })),
        task<number>('canvas.sum', {}),
      );
      const result = await chord.wait({ timeout: 10_000 });
      expect(result.value).toBe(30);
      expect(crashed).toBe(true);
      expect(claims.filter(Boolean)).toHaveLength(2);
      await sleep(300);
      expect(callbackRuns).toBe(1);
      expect(await groupStore.getGroup(chord.groupId)).toMatchObject({ chordDispatched: true, chordClaimedBy: chord.callbackId });
    });

    it("fails a chord with the failed member's error and never runs the callback", async () => {
      let callbackRuns = 0;
      const maybe: TaskHandler<{ n: number }, number> = {
        name: 'canvas.maybe',
        options: { queue },
        call: (_ctx, a) => {
          if (a.n === 2) throw new UnrecoverableError('member two exploded');
          return a.n;
        },
      };
      const cb: TaskHandler = {
        name: 'canvas.cb',
        options: { queue },
        call: () => {
          callbackRuns++;
        },
      };
      const { canvas } = await setup([maybe, cb]);
      const chord = await canvas.chord(
        [0, 1, 2, 3].map((n) => task<number>('canvas.maybe', { n })),
        task('canvas.cb', {}),
      );
      const result = await chord.wait({ timeout: 5_000 });
      expect(result.status).toMatchObject({ state: 'failed', error: { type: 'ChordFailedError' } });
      expect(result.status!.error!.message).toContain('member two exploded');
      expect(result.status!.error!.meta).toMatchObject({ memberIndex: 2, memberTaskId: chord.taskIds[2] });
      await sleep(150);
      expect(callbackRuns).toBe(0);
      const group = await canvas.getGroup<number>(chord.groupId);
      expect(group?.members[2]).toMatchObject({ state: 'failed', error: { message: 'member two exploded' } });
    });

    it('passes results through a chain of 3 that the worker advances after the producer closed', async () => {
      const seen: { parent: unknown; prev: unknown }[] = [];
      const seed: TaskHandler<{ value: number }, number> = { name: 'chain.seed', options: { queue }, call: (_ctx, a) => a.value };
      const bump: TaskHandler<{ add: number }, number> = {
        name: 'chain.bump',
        options: { queue },
        call: (ctx, a) => {
          seen.push({ parent: ctx.meta['stem.parentTaskId'], prev: parentResult(ctx) });
          return parentResult<number>(ctx)! + a.add;
        },
      };
      const double: TaskHandler<unknown, number> = { name: 'chain.double', options: { queue }, call: (ctx) => parentResult<number>(ctx)! * 2 };
      const { broker, backend, groupStore, registry } = await setup([seed, bump, double]);
      const producer = new Stem({ broker, backend, groupStore, registry });
      const chain = await new Canvas(producer).chain<number>([task<number>('chain.seed', { value: 1 }), task<number>('chain.bump', { add: 3 }), task<number>('chain.double', {})]);
      await producer.close();
      const reader = new Stem({ broker, backend });
      const result = await reader.waitForTask<number>(chain.taskIds[2]!, { timeout: 5_000 });
      expect(result).toMatchObject({ timedOut: false, value: 8 });
      expect(seen).toEqual([{ parent: chain.taskIds[0], prev: 1 }]);
      expect((await reader.getTaskStatus(chain.taskIds[1]!))?.payload).toBe(4);
    });

    it('stops a chain at a failed step and cancels the remaining steps', async () => {
      let laterRuns = 0;
      const fail: TaskHandler = {
        name: 'chain.fail',
        options: { queue },
        call: () => {
          throw new UnrecoverableError('step one broke');
        },
      };
      const later: TaskHandler = {
        name: 'chain.later',
        options: { queue },
        call: () => {
          laterRuns++;
        },
      };
      const { canvas } = await setup([fail, later]);
      const chain = await canvas.chain([task('chain.fail', {}), task('chain.later', {}), task('chain.later', {})]);
      const result = await chain.wait({ timeout: 5_000 });
      expect(result.status).toMatchObject({ state: 'cancelled', error: { type: 'ChainBrokenError' } });
      expect(result.status!.error!.message).toContain('step one broke');
      expect(laterRuns).toBe(0);
    });

    it('runs link callbacks after success and linkError callbacks after a terminal failure, with lineage', async () => {
      const linked: unknown[] = [];
      const ok: TaskHandler<{ v: number }, number> = { name: 'link.ok', options: { queue }, call: (_ctx, a) => a.v + 1 };
      const bad: TaskHandler = {
        name: 'link.bad',
        options: { queue },
        call: () => {
          throw new UnrecoverableError('nope');
        },
      };
      const onOk: TaskHandler = {
        name: 'link.onOk',
        options: { queue },
        call: (ctx) => {
          linked.push({ kind: 'ok', result: parentResult(ctx), parent: ctx.meta['stem.parentTaskId'], tenant: ctx.headers['x-tenant'] });
        },
      };
      const onErr: TaskHandler = {
        name: 'link.onErr',
        options: { queue },
        call: (ctx) => {
          linked.push({ kind: 'err', message: parentError(ctx)?.message, parent: ctx.meta['stem.parentTaskId'] });
        },
      };
      const { stem } = await setup([ok, bad, onOk, onErr]);
      const okId = await stem.enqueue('link.ok', { v: 1 }, { headers: { 'x-tenant': 't9' }, link: [task('link.onOk', {})], linkError: [task('link.onErr', {})] });
      const badId = await stem.enqueue('link.bad', {}, { link: [task('link.onOk', {})], linkError: [task('link.onErr', {})] });
      const deadline = Date.now() + 5_000;
      while (linked.length < 2 && Date.now() < deadline) await sleep(20);
      await sleep(100);
      expect(linked).toHaveLength(2);
      expect(linked).toContainEqual({ kind: 'ok', result: 2, parent: okId, tenant: 't9' });
      expect(linked).toContainEqual({ kind: 'err', message: 'nope', parent: badId });
    });

    it('splits items with chunks() and fans out with map(), results in order', async () => {
      const sumChunk: TaskHandler<number[], number> = {
        name: 'canvas.sumChunk',
        options: { queue },
        call: async (_ctx, items) => {
          await jitter();
          return items.reduce((a, b) => a + b, 0);
        },
      };
      const { canvas } = await setup([
        sumChunk,
        {
          ...square,
          name: 'canvas.sq',
          call: async (_ctx, n: number) => {
            await jitter();
            return n * n;
          },
        },
      ]);
      const chunks = await canvas.chunks<number>('canvas.sumChunk', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3, { queue });
      expect(chunks.taskIds).toHaveLength(4);
      expect((await chunks.wait({ timeout: 5_000 })).values).toEqual([6, 15, 24, 10]);
      const mapped = await canvas.map<number>('canvas.sq', [1, 2, 3], { queue });
      expect((await mapped.wait({ timeout: 5_000 })).values).toEqual([1, 4, 9]);
    });

    it('accepts typed definition signatures in groups', async () => {
      const squareDef = defineTask<{ n: number }, number>('canvas.square', { queue });
      const { canvas } = await setup([squareDef.handler(async (_ctx, a) => a.n * a.n)]);
      const dispatch = await canvas.group([squareDef.signature({ n: 3 }), squareDef.signature({ n: 4 })]);
      const result = await dispatch.wait({ timeout: 5_000 });
      const first: number | undefined = result.values[0];
      expect(first).toBe(9);
      expect(result.values).toEqual([9, 16]);
    });
  });
}
