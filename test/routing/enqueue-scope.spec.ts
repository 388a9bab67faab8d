import { afterEach, describe, expect, it } from 'vitest';
import type { StemWorkflowApp } from '../../lib/adapters/memory/index.js';
import { InMemoryBroker } from '../../lib/adapters/memory/in-memory.broker.js';
import { InMemoryResultBackend } from '../../lib/adapters/memory/in-memory.result-backend.js';
import { ConfigurationError } from '../../lib/core/errors/configuration.error.js';
import type { Envelope } from '../../lib/core/envelope.js';
import { withEnqueueMeta } from '../../lib/core/routing/enqueue-scope.js';
import { Stem } from '../../lib/core/stem.js';
import type { TaskContext } from '../../lib/core/task-context.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { Worker } from '../../lib/core/worker/worker.js';
import { WorkflowMeta, WorkflowScript } from '../../lib/core/workflow/index.js';
import { fakeApp } from '../workflow/workflow-test-helpers.js';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function setup() {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  closers.push(() => broker.close());
  return { broker, backend, stem: new Stem({ broker, backend }) };
}

async function metaOf(stem: Stem, id: string): Promise<Readonly<Record<string, unknown>>> {
  return (await stem.getTaskStatus(id))!.meta;
}

describe('stem.withMeta', () => {
  it('adds its meta to every enqueue inside, across awaits; nothing outside', async () => {
    const { stem } = setup();
    const [a, b] = await stem.withMeta({ requestId: 'r-1', tenant: 'acme' }, async () => {
      const first = await stem.enqueue('a');
      await new Promise((resolve) => setTimeout(resolve, 1));
      const [second] = await stem.enqueueMany([{ name: 'b' }]);
      return [first, second!];
    });
    const outside = await stem.enqueue('c');
    expect(await metaOf(stem, a)).toMatchObject({ requestId: 'r-1', tenant: 'acme' });
    expect(await metaOf(stem, b)).toMatchObject({ requestId: 'r-1', tenant: 'acme' });
    expect(await metaOf(stem, outside)).not.toHaveProperty('requestId');
  });

  it('nested scopes merge with the inner one winning; the call meta wins over both; option keys win over meta', async () => {
    const { stem } = setup();
    const id = await stem.withMeta({ requestId: 'outer', tenant: 'acme' }, () =>
      stem.withMeta({ requestId: 'inner', user: 'u1' }, () => stem.enqueue('a', {}, { meta: { user: 'caller', 'stem.ignoreResult': false }, ignoreResult: true })),
    );
    const after = await stem.withMeta({ requestId: 'outer' }, async () => {
      await stem.withMeta({ requestId: 'inner' }, () => undefined);
      return stem.enqueue('b');
    });
    expect(await metaOf(stem, id)).toMatchObject({ requestId: 'inner', tenant: 'acme', user: 'caller', 'stem.ignoreResult': true });
    expect(await metaOf(stem, after)).toMatchObject({ requestId: 'outer' });
  });

  it('returns what fn returns, synchronously too, and scope meta of the wrong type is refused like call meta', async () => {
    const { stem } = setup();
    expect(stem.withMeta({ x: 1 }, () => 42)).toBe(42);
    await expect(stem.withMeta({ 'stem.expiresAt': 'soon' }, () => stem.enqueue('a'))).rejects.toThrow(ConfigurationError);
  });

  it('applies to enqueues of every producer in the process, e.g. from a task handler', async () => {
    const { broker, backend, stem } = setup();
    const children: Envelope[] = [];
    const registry = new SimpleTaskRegistry([
      {
        name: 'parent',
        call: async (ctx: TaskContext) => {
          // The worker's own producer enqueues the child; the scope opened in the handler still applies.
          await withEnqueueMeta({ origin: 'handler' }, () => ctx.enqueue('child', {}, { meta: { mine: true } }));
        },
      },
      { name: 'child', call: (ctx: TaskContext) => void children.push(ctx.envelope) },
    ]);
    const worker = new Worker({ broker, backend, registry, id: 'scope-worker' });
    closers.push(() => worker.close());
    const ran = new Promise<void>((resolve) => worker.signals.on('task-succeeded', ({ envelope: e }) => e.name === 'child' && resolve()));
    await worker.start();
    await stem.withMeta({ requestId: 'r-2' }, () => stem.enqueue('parent'));
    await ran;
    expect(children[0]!.meta).toMatchObject({ origin: 'handler', mine: true });
    // The scope of the enqueue call does not travel with the task to the worker.
    expect(children[0]!.meta).not.toHaveProperty('requestId');
  });
});

describe('stem.withMeta and workflows', () => {
  let app: StemWorkflowApp | undefined;
  afterEach(async () => {
    await app?.shutdown();
    app = undefined;
  });

  it('a workflow started inside carries the meta on its run task; a step enqueuing inside a scope adds it to the workflow meta', async () => {
    const mails: TaskContext[] = [];
    const runs: Envelope[] = [];
    ({ app } = await fakeApp({
      tasks: [{ name: 'mail.send', call: (ctx) => void mails.push(ctx) }],
      scripts: [
        new WorkflowScript({
          name: 'mailer',
          run: async (ctx) => withEnqueueMeta({ step: 'notify' }, () => ctx.enqueue('mail.send', { to: 'a@b.c' })),
        }),
      ],
    }));
    app.worker.signals.on('task-received', ({ envelope: e }) => void (e.name === 'stem.workflow.run' && runs.push(e)));
    const runId = await app.stem.withMeta({ requestId: 'r-3' }, () => app!.startWorkflow('mailer'));
    const { value } = await app.waitForCompletion<string>(runId, { timeout: '1m' });
    await app.stem.waitForTask(value!, { timeout: 5_000 });
    expect(runs[0]!.meta).toMatchObject({ requestId: 'r-3' });
    expect(mails[0]!.meta).toMatchObject({ step: 'notify', [WorkflowMeta.runId]: runId });
  });
});
