import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker } from '../../lib/adapters/memory/in-memory.broker.js';
import { InMemoryGroupStore } from '../../lib/adapters/memory/in-memory.group-store.js';
import { InMemoryResultBackend } from '../../lib/adapters/memory/in-memory.result-backend.js';
import { Canvas, task } from '../../lib/core/canvas/index.js';
import type { Broker } from '../../lib/core/contracts/broker.js';
import { defineTask } from '../../lib/core/definitions/task-definition.js';
import { ConfigurationError } from '../../lib/core/errors/configuration.error.js';
import { PublishError, PublishOutcomeUnknownError } from '../../lib/core/errors/publish.error.js';
import { UnknownTaskError } from '../../lib/core/errors/unknown-task.error.js';
import { Stem, type StemOptions } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { Worker } from '../../lib/core/worker/worker.js';
import { WORKFLOW_RUN_TASK } from '../../lib/core/workflow/workflow.constants.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function producer(
  options: Partial<StemOptions> = {},
  handlers = [
    { name: 'math.add', call: (_ctx: unknown, a: { a: number; b: number }) => a.a + a.b },
    { name: 'math.mul', call: () => 0 },
  ],
) {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const registry = new SimpleTaskRegistry(handlers);
  closers.push(() => broker.close());
  return { broker, backend, registry, stem: new Stem({ broker, backend, registry, ...options }) };
}

describe('Stem: unknown task names', () => {
  it('refuses a name the process does not know, naming it and the known tasks, and publishes nothing', async () => {
    const { stem, broker, backend } = producer();
    const error = await stem.enqueue('math.addd', { a: 1, b: 2 }, { taskId: 'typo-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownTaskError);
    expect((error as UnknownTaskError).code).toBe('STEM_UNKNOWN_TASK');
    expect((error as Error).message).toMatch(/"math\.addd".*known tasks: math\.add, math\.mul.*remoteTasks.*allowUnknownTasks: true/s);
    expect(await broker.pendingCount('default')).toBe(0);
    expect(await backend.get('typo-1')).toBeNull();
  });

  it('refuses a whole batch with an unknown name, enqueuing none of it', async () => {
    const { stem, broker } = producer();
    await expect(stem.enqueueMany([{ name: 'math.add', args: { a: 1, b: 2 } }, { name: 'math.addd' }])).rejects.toThrow(/"math\.addd"/);
    expect(await broker.pendingCount('default')).toBe(0);
  });

  it('enqueueManySettled reports an unknown name in its place and publishes the other calls', async () => {
    const { stem, broker, backend } = producer();
    const outcomes = await stem.enqueueManySettled([{ name: 'math.add', args: { a: 1, b: 2 } }, { name: 'math.addd', options: { taskId: 'typo-2' } }, { name: 'math.mul' }]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    expect((outcomes[1] as { error: Error }).error).toBeInstanceOf(UnknownTaskError);
    expect((outcomes[1] as { error: Error }).error.message).toMatch(/"math\.addd"/);
    expect(await broker.pendingCount('default')).toBe(2);
    expect(await backend.get('typo-2')).toBeNull();
    for (const o of outcomes) if (o.ok) expect((await backend.get(o.id))?.state).toBe('queued');
  });

  it('enqueueManySettled throws when the publish itself fails (the store is at fault, not a call)', async () => {
    const { stem, broker } = producer();
    broker.publish = async () => {
      throw Object.assign(new Error('broker refused'), { code: 'EREFUSED' });
    };
    await expect(stem.enqueueManySettled([{ name: 'math.mul' }, { name: 'math.addd' }])).rejects.toBeInstanceOf(PublishError);
  });

  it('accepts any name with allowUnknownTasks', async () => {
    const { stem, broker } = producer({ allowUnknownTasks: true });
    await stem.enqueue('math.addd');
    expect(await broker.pendingCount('default')).toBe(1);
  });

  it("accepts declared remote tasks, by name or definition, and applies a definition's options", async () => {
    const charge = defineTask<{ cents: number }>('billing.charge', { queue: 'billing', priority: 7 });
    const { stem, broker } = producer({ remoteTasks: ['email.send', charge] });
    await stem.enqueue('email.send', { to: 'a@b.c' });
    await stem.enqueue('billing.charge', { cents: 5 });
    await charge.enqueue(stem, { cents: 6 });
    expect(await broker.pendingCount('default')).toBe(1);
    expect(await broker.pendingCount('billing')).toBe(2);
    await expect(stem.enqueue('billing.refund')).rejects.toThrow(/known tasks: billing\.charge, email\.send, math\.add, math\.mul/);
  });

  it('a producer that knows no task accepts any name; declaring remote tasks makes it check', async () => {
    const plain = producer({}, []);
    await plain.stem.enqueue('anything.goes');
    expect(await plain.broker.pendingCount('default')).toBe(1);
    const declared = producer({ remoteTasks: ['report.build'] }, []);
    await declared.stem.enqueue('report.build');
    await expect(declared.stem.enqueue('report.buld')).rejects.toBeInstanceOf(UnknownTaskError);
  });

  it('the workflow run task is always accepted and does not make a producer check names', async () => {
    const runsWorkflows = producer({}, [{ name: WORKFLOW_RUN_TASK, call: () => 0 }]);
    await runsWorkflows.stem.enqueue('anything.goes');
    await runsWorkflows.stem.enqueue(WORKFLOW_RUN_TASK, { runId: 'r1' });
    const checking = producer();
    await checking.stem.enqueue(WORKFLOW_RUN_TASK, { runId: 'r2' });
    const error = await checking.stem.enqueue('math.addd').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/known tasks: math\.add, math\.mul\b/);
    expect((error as Error).message).not.toContain(WORKFLOW_RUN_TASK);
  });

  it('checks tasks a canvas call carries (links, later chain steps) when it is enqueued', async () => {
    const { stem, broker, backend } = producer({ groupStore: new InMemoryGroupStore() });
    const canvas = new Canvas(stem);
    await expect(stem.enqueue('math.add', { a: 1, b: 2 }, { link: [task('math.mull', {})] })).rejects.toThrow(/"math\.mull"/);
    await expect(canvas.chain([task('math.add', { a: 1, b: 2 }), task('math.mull', {})])).rejects.toThrow(/"math\.mull"/);
    await expect(canvas.group([task('math.add', {}), task('math.ad', {})])).rejects.toThrow(/"math\.ad"/);
    expect(await broker.pendingCount('default')).toBe(0);
    // Known names run through a worker: chain, group, chord and link follow-ups still dispatch.
    const worker = new Worker({ broker, backend, registry: stem.registry!, producer: stem, groupStore: stem.groupStore! });
    closers.unshift(() => worker.close({ mode: 'hard' }));
    await worker.start();
    const chain = await canvas.chain<number>([task('math.add', { a: 1, b: 2 }), task('math.add', { a: 3, b: 4 })]);
    expect((await chain.wait({ timeout: 3_000 })).value).toBe(7);
    const chord = await canvas.chord([task('math.add', { a: 1, b: 1 })], task('math.mul', {}));
    expect((await chord.wait({ timeout: 3_000 })).status?.state).toBe('succeeded');
    const linked = await stem.enqueue('math.add', { a: 2, b: 2 }, { link: [task('math.mul', {}, { taskId: 'link-1' })] });
    expect((await stem.waitForTask(linked, { timeout: 3_000 })).value).toBe(4);
    expect((await stem.waitForTask('link-1', { timeout: 3_000 })).status?.state).toBe('succeeded');
  });
});

describe('Stem: publish failures', () => {
  function failing(error: unknown): Broker {
    const broker = new InMemoryBroker();
    closers.push(() => broker.close());
    broker.publish = async () => {
      throw error;
    };
    return broker;
  }

  it('a connection lost mid-publish is an unknown outcome: it names the id, keeps the queued status, and a retry under that id is accepted', async () => {
    const backend = new InMemoryResultBackend();
    const lost = Object.assign(new Error('Connection terminated unexpectedly'), {});
    const stem = new Stem({ broker: failing(lost), backend });
    const error = await stem.enqueue('report.build', {}, { taskId: 'r-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishOutcomeUnknownError);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishOutcomeUnknownError).taskIds).toEqual(['r-1']);
    expect((error as Error).message).toMatch(/may have been enqueued under id r-1.*same taskId/);
    expect((error as Error).message).not.toMatch(/nothing was enqueued/);
    expect((await backend.get('r-1'))?.state).toBe('queued');
  });

  it('a publish that certainly stored nothing says so and records the failure', async () => {
    const backend = new InMemoryResultBackend();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const stem = new Stem({ broker: failing(refused), backend });
    const error = await stem.enqueue('report.build', {}, { taskId: 'r-2' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error).not.toBeInstanceOf(PublishOutcomeUnknownError);
    expect((error as Error).message).toMatch(/nothing was enqueued/);
    expect((await backend.get('r-2'))?.state).toBe('failed');
  });

  it('enqueuing again under the id of a finished task leaves its status terminal', async () => {
    const { stem, backend } = producer();
    await backend.set('done-1', { state: 'succeeded', attempt: 0, payload: 3 });
    await stem.enqueue('math.add', { a: 1, b: 2 }, { taskId: 'done-1' });
    expect(await backend.get('done-1')).toMatchObject({ state: 'succeeded', payload: 3 });
  });
});

describe('Stem.fromParts', () => {
  it('leaves out missing parts and builds an encoder registry from options', async () => {
    const broker = new InMemoryBroker();
    closers.push(() => broker.close());
    const stem = Stem.fromParts({ broker, backend: null, signer: undefined, encoders: {}, registry: new SimpleTaskRegistry() });
    expect(stem.backend).toBeUndefined();
    expect(stem.signer).toBeUndefined();
    await expect(stem.waitForTask('x')).rejects.toBeInstanceOf(ConfigurationError);
    expect(await stem.enqueue('any.name')).toBeTypeOf('string');
  });
});
