import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisWorkflowStore } from '../../lib/adapters/redis/index.js';
import { RedisConnection } from '../../lib/adapters/redis/redis.connection.js';
import { scripts } from '../../lib/adapters/redis/scripts/index.js';
import { FakeWorkflowClock } from '../../lib/testing/fake-workflow-clock.js';
import { claimAndLoadCases } from './claim-and-load.cases.js';
import { childSignalName, INTERNAL_STEP_PREFIX } from '../../lib/core/workflow/workflow.constants.js';
import { SUSPENDED_RECHECK, UNFINISHED_END_GRACE } from '../../lib/adapters/redis/redis.workflow-index.js';
import { runWorkflowRetentionContractTests } from '../../lib/testing/workflow-retention.contract.js';
import { runWorkflowStoreContractTests } from '../../lib/testing/workflow-store.contract.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('wf-contract');

describe.runIf(available)('Redis workflow store', () => {
  afterAll(() => deleteKeys(REDIS_URL, prefix));

  // NOTE: the due and watcher indexes span runs, so each test gets keys of its own.
  let n = 0;
  runWorkflowStoreContractTests('redis', { create: async (clock) => RedisWorkflowStore.connect(REDIS_URL, { prefix: `${prefix}:t${++n}`, clock }) });
  runWorkflowRetentionContractTests('redis', { create: async (clock, options) => RedisWorkflowStore.connect(REDIS_URL, { prefix: `${prefix}:t${++n}`, clock, ...options }) });
  claimAndLoadCases((clock) => RedisWorkflowStore.connect(REDIS_URL, { prefix: `${prefix}:t${++n}`, clock }));

  it("an ended run's keys get a Redis expiry of the retention; a rewind lifts it", async () => {
    const keyPrefix = `${prefix}:ttl`;
    const store = await RedisWorkflowStore.connect(REDIS_URL, { prefix: keyPrefix, retention: '1h' });
    const redis = new Redis(REDIS_URL);
    try {
      const run = await store.createRun({ workflow: 'ttl', params: {} });
      await store.saveStep(run.id, 'a', 1);
      const keys = [`${keyPrefix}:wf:run:{${run.id}}`, `${keyPrefix}:wf:run:{${run.id}}:order`, `${keyPrefix}:wf:run:{${run.id}}:steps`];
      expect(await Promise.all(keys.map((k) => redis.pttl(k)))).toEqual([-1, -1, -1]);
      await store.markCompleted(run.id, 1);
      for (const ttl of await Promise.all(keys.map((k) => redis.pttl(k)))) expect(ttl).toBeGreaterThan(3_590_000);
      await store.rewindToStep(run.id, 'a');
      expect(await Promise.all(keys.slice(0, 2).map((k) => redis.pttl(k)))).toEqual([-1, -2]);
    } finally {
      redis.disconnect();
      await store.close();
    }
  });
});

describe.runIf(available)('Redis workflow store: recovery sweeps', () => {
  afterAll(() => deleteKeys(REDIS_URL, `${prefix}:sweep`));

  /** Run reads `fn` makes (`wf-get` script calls and `get` operations of `wf-batch` calls). */
  async function runReads<T>(fn: () => Promise<T>): Promise<{ value: T; reads: number }> {
    const proto = RedisConnection.prototype as unknown as { command: (...args: unknown[]) => Promise<unknown> };
    const command = proto.command;
    let reads = 0;
    proto.command = function (this: unknown, ...args: unknown[]) {
      if (args[0] === 'evalsha' && args[1] === scripts.wfGet.sha) reads++;
      if (args[0] === 'evalsha' && args[1] === scripts.wfBatch.sha) reads += (JSON.parse(String(args[4])) as [string][]).filter(([op]) => op === 'get').length;
      return command.apply(this, args);
    };
    try {
      return { value: await fn(), reads };
    } finally {
      proto.command = command;
    }
  }

  it('read the runs that may be runnable, not every live run, and still find each one that becomes runnable', async () => {
    const clock = new FakeWorkflowClock(Date.UTC(2030, 0, 1));
    const store = await RedisWorkflowStore.connect(REDIS_URL, { prefix: `${prefix}:sweep`, clock });
    try {
      const runs = await Promise.all(Array.from({ length: 120 }, () => store.createRun({ workflow: 'sweep', params: {} })));
      const [free, released, ...rest] = runs.map((r) => r.id) as [string, string, ...string[]];
      const waiting = rest.slice(0, 80);
      const leased = rest.slice(80);
      await Promise.all(waiting.map((id, i) => store.suspendOnTopic(id, 'wait', `sweep.topic.${i}`)));
      await Promise.all([released, ...leased].map((id) => store.claimRun(id, 'owner', 10_000)));
      const ids = async () => (await store.listRunnableRuns({ now: clock.now(), limit: 1_000 })).map((r) => r.id);

      expect(await ids()).toEqual([free]);
      // Once seen, suspended and leased runs are out of the sweep's way: it reads the runnable one only.
      expect(await runReads(ids)).toEqual({ value: [free], reads: 1 });

      expect(await store.releaseRun(released, 'owner')).toBe(true);
      await store.resolveWatchers('sweep.topic.0', { go: true });
      expect(await store.markResumed(waiting[0]!)).toMatchObject({ status: 'running', ownerId: null });
      expect(new Set(await ids())).toEqual(new Set([free, released, waiting[0]]));

      // Leases that ran out make their runs runnable with no write at all.
      await clock.advance(10_001);
      expect(new Set(await ids())).toEqual(new Set([free, released, waiting[0], ...leased]));
      expect(await store.listRunnableRuns({ now: clock.now(), limit: 2, offset: 1 })).toHaveLength(2);

      // A resume whose process died before its index write: the sweep finds the run at its next recheck.
      const mayRun = (store as unknown as { index: { mayRun: () => Promise<void> } }).index;
      const write = mayRun.mayRun;
      mayRun.mayRun = () => Promise.reject(new Error('process stopped'));
      await store.resolveWatchers('sweep.topic.1', { go: true });
      await expect(store.markResumed(waiting[1]!)).rejects.toThrow('process stopped');
      mayRun.mayRun = write;
      expect(await ids()).not.toContain(waiting[1]);
      await clock.advance(SUSPENDED_RECHECK);
      expect(await ids()).toContain(waiting[1]);
    } finally {
      await store.close();
    }
  });
});

describe.runIf(available)('Redis workflow store: a child whose end stopped half way', () => {
  afterAll(() => deleteKeys(REDIS_URL, `${prefix}:half`));

  it("still wakes its parent: the recovery sweep sends the signal the child's process did not", async () => {
    const store = await RedisWorkflowStore.connect(REDIS_URL, { prefix: `${prefix}:half` });
    try {
      const parent = await store.createRun({ workflow: 'parent', params: {} });
      const child = await store.createRun({ workflow: 'child', params: {}, runId: `${parent.id}.startChild#0`, parentRunId: parent.id });
      const signal = childSignalName(child.id);
      expect(await store.suspendOnSignal(parent.id, `${INTERNAL_STEP_PREFIX}waitForChild#0`, signal)).toBe(true);

      // The child's process stops right after the end script: the parent's signal is never sent.
      const send = store.sendSignal.bind(store);
      store.sendSignal = () => Promise.reject(new Error('process stopped'));
      await expect(store.markCompleted(child.id, { total: 42 })).rejects.toThrow('process stopped');
      store.sendSignal = send;
      expect((await store.get(child.id))?.status).toBe('completed');
      expect(await store.listSignals(parent.id)).toEqual([]);

      // A sweep soon after leaves a possibly still running end alone; one after the grace finishes it.
      const ended = (await store.get(child.id))!.updatedAt;
      await store.listRunnableRuns({ now: ended + 1_000 });
      expect(await store.listSignals(parent.id)).toEqual([]);
      await store.listRunnableRuns({ now: ended + UNFINISHED_END_GRACE + 1 });
      const signals = await store.listSignals(parent.id);
      expect(signals.map((s) => [s.name, (s.payload as { status: string; result: unknown }).status, (s.payload as { result: unknown }).result])).toEqual([
        [signal, 'completed', { total: 42 }],
      ]);
      expect(await store.dueRuns(Date.now() + 1)).toEqual([parent.id]);

      // Finished once: a later sweep sends nothing more.
      await store.listRunnableRuns({ now: ended + 2 * UNFINISHED_END_GRACE });
      expect(await store.listSignals(parent.id)).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});

describe.runIf(available)('Redis workflow store: operations of many runs in one call', () => {
  afterAll(() => deleteKeys(REDIS_URL, `${prefix}:batch`));

  it('checkpoints of concurrent runs travel together, and one run whose key is broken fails alone', async () => {
    const keyPrefix = `${prefix}:batch`;
    const store = await RedisWorkflowStore.connect(REDIS_URL, { prefix: keyPrefix });
    const redis = new Redis(REDIS_URL);
    const proto = RedisConnection.prototype as unknown as { command: (...args: unknown[]) => Promise<unknown> };
    const command = proto.command;
    const calls: string[] = [];
    try {
      const runs = await Promise.all(Array.from({ length: 15 }, () => store.createRun({ workflow: 'batch', params: {} })));
      await redis.set(`${keyPrefix}:wf:run:{broken}`, 'not a hash');
      proto.command = function (this: unknown, ...args: unknown[]) {
        if (args[0] === 'evalsha') calls.push(String(args[1]));
        return command.apply(this, args);
      };
      const saved = await Promise.allSettled([...runs.map((run, i) => store.saveStep(run.id, 'a#0', i)), store.saveStep('broken', 'a#0', 0)]);
      proto.command = command;
      expect(saved.slice(0, 15)).toEqual(runs.map(() => ({ status: 'fulfilled', value: true })));
      expect(saved[15]).toMatchObject({ status: 'rejected', reason: { message: expect.stringContaining('WRONGTYPE') } });
      expect(calls).toEqual([scripts.wfBatch.sha]);
      const steps = await Promise.all(runs.map((run) => store.listSteps(run.id)));
      expect(steps.map((s) => s.map((c) => [c.name, c.value]))).toEqual(runs.map((_, i) => [['a#0', i]]));
    } finally {
      proto.command = command;
      redis.disconnect();
      await store.close();
    }
  });

  it('a burst of checkpoints goes out in calls of 16 operations, each answered', async () => {
    const keyPrefix = `${prefix}:burst`;
    const store = await RedisWorkflowStore.connect(REDIS_URL, { prefix: keyPrefix });
    const proto = RedisConnection.prototype as unknown as { command: (...args: unknown[]) => Promise<unknown> };
    const command = proto.command;
    const calls: string[] = [];
    try {
      const runs = await Promise.all(Array.from({ length: 40 }, () => store.createRun({ workflow: 'burst', params: {} })));
      proto.command = function (this: unknown, ...args: unknown[]) {
        if (args[0] === 'evalsha') calls.push(String(args[1]));
        return command.apply(this, args);
      };
      const saved = await Promise.all(runs.map((run, i) => store.saveStep(run.id, 'a#0', i)));
      proto.command = command;
      expect(saved).toEqual(runs.map(() => true));
      expect(calls).toEqual([scripts.wfBatch.sha, scripts.wfBatch.sha, scripts.wfBatch.sha]);
      const steps = await Promise.all(runs.map((run) => store.listSteps(run.id)));
      expect(steps.map((s) => s.map((c) => c.value))).toEqual(runs.map((_, i) => [i]));
    } finally {
      proto.command = command;
      await store.close();
      await deleteKeys(REDIS_URL, keyPrefix);
    }
  });
});

describe.runIf(available)('Redis workflow store: ends told to watchers', () => {
  afterAll(() => deleteKeys(REDIS_URL, `${prefix}:told`));

  /**
   * Two store instances on the same keys, a watched run on the first, and a cancel by the second
   * made during the first's end: before its script runs (`cancelFirst`) or after it.
   */
  async function cancelDuringEnd(cancelFirst: boolean, end: (here: RedisWorkflowStore, runId: string) => Promise<void>): Promise<void> {
    const options = { prefix: `${prefix}:told`, watchPollInterval: 600_000 };
    const here = await RedisWorkflowStore.connect(REDIS_URL, options);
    const there = await RedisWorkflowStore.connect(REDIS_URL, options);
    try {
      const run = await here.createRun({ workflow: 'told', params: {} });
      const seen: string[] = [];
      here.watch(run.id, (state) => seen.push(state.status));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const ops = (here as unknown as { ops: { runIndexing: (...args: unknown[]) => Promise<unknown> } }).ops;
      const send = ops.runIndexing.bind(ops);
      const cancelThere = async () => {
        await there.cancel(run.id, { reason: 'elsewhere' });
        await new Promise((resolve) => setTimeout(resolve, 100));
      };
      ops.runIndexing = async (...args: unknown[]) => {
        if (args[0] !== 'end') return send(...args);
        if (cancelFirst) await cancelThere();
        const out = await send(...args);
        if (!cancelFirst) await cancelThere();
        return out;
      };
      await end(here, run.id);
      await expect.poll(() => seen.at(-1), { timeout: 2_000 }).toBe('cancelled');
    } finally {
      await here.close();
      await there.close();
    }
  }

  it("a watcher hears another process's end that beat this instance's own end, with no poll", async () => {
    // This instance's end is under way when the other process cancels the run and announces it.
    await cancelDuringEnd(true, async (here, runId) => {
      expect(await here.markCompleted(runId, 1)).toBeNull();
    });
  });

  it('a watcher hears a cancel by another process announced while this instance records a retryable error, with no poll', async () => {
    // The retry is stored first; the other process's cancel is announced before this end returns.
    await cancelDuringEnd(false, async (here, runId) => {
      expect(await here.markFailed(runId, { type: 'Error', message: 'flaky', at: Date.now() }, { terminal: false })).toMatchObject({ status: 'running' });
    });
  });
});
