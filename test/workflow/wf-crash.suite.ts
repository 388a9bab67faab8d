import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { Broker } from '../../lib/core/contracts/broker.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { Stem } from '../../lib/core/stem.js';
import { WorkflowRuntime, WorkflowScript } from '../../lib/core/workflow/index.js';
import type { WorkflowStore } from '../../lib/core/workflow/workflow-store.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { FixtureProcess } from '../redis/child-process.js';

const WORKER = fileURLToPath(new URL('./fixtures/wf-worker.ts', import.meta.url));
const USER_STEPS = ['a', 'b', 'c', 'd', 'e'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One backend's side of the crash tests: a client store and broker, the worker's env, the execution counters. */
export interface CrashBackend {
  readonly store: WorkflowStore;
  readonly broker: Broker;
  /** Environment of the worker processes (STEM_BACKEND, STEM_URL, STEM_PREFIX / STEM_SCHEMA). */
  readonly env: Record<string, string>;
  /** Executions per `<runId>:<step>` so far. */
  counts(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

/** A private server the restart test may kill and start again. */
export interface RestartableServer {
  kill(): Promise<void>;
  restart(): Promise<void>;
}

/** A client runtime that starts runs and emits events; the worker processes define and run the workflows. */
function client(backend: CrashBackend, queue: string): WorkflowRuntime {
  const placeholder = (name: string) =>
    new WorkflowScript({
      name,
      run: () => {
        throw new Error(`${name} runs in the worker processes`);
      },
    });
  return new WorkflowRuntime({
    store: backend.store,
    producer: new Stem({ broker: backend.broker, registry: new SimpleTaskRegistry([]) }),
    queue,
    definitions: [placeholder('crash.five'), placeholder('crash.race')],
  });
}

async function until(check: () => Promise<boolean>, ms: number, what: () => Promise<string> | string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${await what()}`);
    await sleep(50);
  }
}

/** Emits the event of every run waiting on one of its own topics, until stopped. */
function eventPump(runtime: WorkflowRuntime, prefix: string): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const watchers = await runtime.store.listWatchers(undefined, { limit: 2_000 });
        await Promise.all(watchers.filter((w) => w.topic.startsWith(prefix)).map((w) => runtime.emit(w.topic, { n: 1 })));
      } catch {
        // NOTE: the server may be down (restart test); the next round retries.
      }
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Checkpointed user steps of every run, and the execution counts, at one moment. */
async function snapshot(backend: CrashBackend, runIds: readonly string[]): Promise<{ checkpointed: string[]; counts: Map<string, number> }> {
  const checkpointed: string[] = [];
  for (const runId of runIds) {
    for (const step of await backend.store.listSteps(runId)) {
      const name = step.name.replace(/#\d+$/, '');
      if (USER_STEPS.includes(name)) checkpointed.push(`${runId}:${name}`);
    }
  }
  return { checkpointed, counts: await backend.counts() };
}

async function progress(backend: CrashBackend, runIds: readonly string[]): Promise<number> {
  const runs = await Promise.all(runIds.map((id) => backend.store.get(id)));
  return runs.reduce((sum, r) => sum + (r?.cursor ?? 0), 0) / (runIds.length * 7);
}

async function startRuns(runtime: WorkflowRuntime, workflow: string, n: number, topic: (i: number) => string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 50) ids.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => runtime.start(workflow, { topic: topic(i + j) })))));
  return ids;
}

async function expectAllCompleted(backend: CrashBackend, runIds: readonly string[], ms: number): Promise<void> {
  await until(
    async () => (await Promise.all(runIds.map((id) => backend.store.get(id)))).every((r) => r?.status === 'completed'),
    ms,
    async () => {
      const runs = await Promise.all(runIds.map((id) => backend.store.get(id)));
      const left = runs.filter((r) => r?.status !== 'completed');
      return `${left.length} run(s) to complete; e.g. ${JSON.stringify(left.slice(0, 2))}`;
    },
  );
}

/**
 * Steps checkpointed before a kill ran no more times after it; every step ran at least once, its
 * checkpoint was written once, and each further execution is accounted for: by a kill, or by an
 * executor whose save was refused (its lease ran out, another executor took the run) or failed
 * (the store was away).
 */
function expectNoReExecution(
  final: Map<string, number>,
  runIds: readonly string[],
  snapshots: readonly { checkpointed: string[]; counts: Map<string, number> }[],
  kills: number,
): void {
  const rerun: string[] = [];
  for (const s of snapshots)
    for (const key of s.checkpointed) if (final.get(key) !== s.counts.get(key)) rerun.push(`${key}: ${s.counts.get(key)} at the kill, ${final.get(key)} at the end`);
  expect(rerun, 'checkpointed steps executed again after a kill').toEqual([]);
  const wrong = runIds
    .flatMap((id) =>
      USER_STEPS.map((step) => {
        const key = `${id}:${step}`;
        const lost = (final.get(`${key}:refused`) ?? 0) + (final.get(`${key}:failed`) ?? 0);
        return { key, executions: final.get(key) ?? 0, saved: final.get(`${key}:saved`) ?? 0, lost };
      }),
    )
    .filter(({ executions, saved, lost }) => executions < 1 || saved > 1 || executions > 1 + kills + lost);
  expect(wrong).toEqual([]);
}

/**
 * The crash tests of a workflow store, in separate worker processes: SIGKILLed workers, a
 * restarted server, and emits racing awaitEvent registration.
 */
export function runWorkflowCrashTests(setup: () => Promise<CrashBackend>, server?: () => Promise<{ backend: CrashBackend; server: RestartableServer }>): void {
  it('200 runs survive two SIGKILLed workers: all complete, no checkpointed step runs again', async () => {
    const backend = await setup();
    const queue = uniqueName('wf-crash');
    const prefix = uniqueName('crash.evt');
    const runtime = client(backend, queue);
    const env = { ...backend.env, STEM_QUEUE: queue };
    let worker = FixtureProcess.startFile(WORKER, env);
    const pump = eventPump(runtime, prefix);
    try {
      await worker.waitForLine((l) => l === 'ready', 30_000);
      const runIds = await startRuns(runtime, 'crash.five', 200, (i) => `${prefix}.${i}`);
      const snapshots = [];
      for (const at of [0.3, 0.65]) {
        await until(
          async () => (await progress(backend, runIds)) >= at,
          60_000,
          () => `progress ${at}`,
        );
        await worker.kill('SIGKILL');
        snapshots.push(await snapshot(backend, runIds));
        worker = FixtureProcess.startFile(WORKER, env);
        await worker.waitForLine((l) => l === 'ready', 30_000);
      }
      await expectAllCompleted(backend, runIds, 90_000);
      const runs = await Promise.all(runIds.map((id) => backend.store.get(id)));
      expect(new Set(runs.map((r) => r?.result))).toEqual(new Set([5]));
      expectNoReExecution(await backend.counts(), runIds, snapshots, 2);
    } finally {
      await pump.stop();
      await worker.kill('SIGTERM');
      await runtime.close();
      await backend.close();
    }
  }, 180_000);

  if (server) {
    it('a server restart mid-run: runs resume by themselves, nothing lost, no checkpointed step runs again', async () => {
      const { backend, server: srv } = await server();
      const queue = uniqueName('wf-restart');
      const prefix = uniqueName('restart.evt');
      const runtime = client(backend, queue);
      const worker = FixtureProcess.startFile(WORKER, { ...backend.env, STEM_QUEUE: queue });
      const pump = eventPump(runtime, prefix);
      try {
        await worker.waitForLine((l) => l === 'ready', 30_000);
        const runIds = await startRuns(runtime, 'crash.five', 100, (i) => `${prefix}.${i}`);
        await until(
          async () => (await progress(backend, runIds)) >= 0.4,
          60_000,
          () => 'progress 0.4',
        );
        const before = await snapshot(backend, runIds);
        await srv.kill();
        await sleep(500);
        await srv.restart();
        await expectAllCompleted(backend, runIds, 90_000);
        expectNoReExecution(await backend.counts(), runIds, [before], 1);
      } finally {
        await pump.stop();
        await worker.kill('SIGTERM');
        await runtime.close();
        await backend.close();
      }
    }, 180_000);
  }

  it('waitForCompletion in an API process (no worker) is woken by the store notification, not by its poll', async () => {
    const backend = await setup();
    const queue = uniqueName('wf-wake');
    const topic = uniqueName('wake.topic');
    const runtime = client(backend, queue);
    const worker = FixtureProcess.startFile(WORKER, { ...backend.env, STEM_QUEUE: queue });
    try {
      await worker.waitForLine((l) => l === 'ready', 30_000);
      const runId = await runtime.start('crash.race', { topic });
      await until(
        async () => (await runtime.store.runsWaitingOn(topic)).includes(runId),
        30_000,
        () => 'the run to wait on its topic',
      );
      const waiting = runtime.waitForCompletion<number>(runId, { timeout: '30s' });
      const emittedAt = Date.now();
      expect(await runtime.emit(topic, { emit: 7 })).toBe(1);
      const done = await waiting;
      expect(done).toMatchObject({ value: 7, timedOut: false, state: { status: 'completed' } });
      expect(Date.now() - emittedAt).toBeLessThan(30_000);
    } finally {
      await worker.kill('SIGTERM');
      await runtime.close();
      await backend.close();
    }
  }, 90_000);

  it('1,000 runs: emits racing awaitEvent registration never resume a run twice nor strand a registered one', async () => {
    const backend = await setup();
    const queue = uniqueName('wf-race');
    const topic = uniqueName('race.topic');
    const runtime = client(backend, queue);
    const worker = FixtureProcess.startFile(WORKER, { ...backend.env, STEM_QUEUE: queue });
    try {
      await worker.waitForLine((l) => l === 'ready', 30_000);
      const runIds = await startRuns(runtime, 'crash.race', 1_000, () => topic);
      let resumed = 0;
      let emits = 0;
      const settled = async () =>
        (await Promise.all(runIds.map((id) => backend.store.get(id)))).every(
          (r) => r && (r.status === 'completed' || r.waitTopic === topic || r.cursor > 0 || r.resumeData?.type === 'event'),
        );
      // Emits fire while the runs suspend, until every run has registered or moved past its wait.
      while (!(await settled())) {
        resumed += await runtime.emit(topic, { emit: ++emits });
        await sleep(20);
      }
      // Every run registered: one more emit must find every run still waiting.
      const waiting = await runtime.store.runsWaitingOn(topic);
      resumed += await runtime.emit(topic, { emit: ++emits });
      expect(await runtime.store.runsWaitingOn(topic)).toEqual([]);
      expect(resumed).toBe(1_000);
      expect(waiting.length).toBeLessThanOrEqual(1_000);
      await expectAllCompleted(backend, runIds, 90_000);
      const counts = await backend.counts();
      expect(runIds.filter((id) => counts.get(`${id}:after`) !== 1)).toEqual([]);
      const runs = await Promise.all(runIds.map((id) => backend.store.get(id)));
      expect(runs.filter((r) => typeof r?.result !== 'number' || (r.result as number) < 1 || (r.result as number) > emits)).toEqual([]);
    } finally {
      await worker.kill('SIGTERM');
      await runtime.close();
      await backend.close();
    }
  }, 180_000);
}
