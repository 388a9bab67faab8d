import { afterEach, describe, expect, it } from 'vitest';
import type { StemWorkflowApp } from '../../lib/adapters/memory/index.js';
import { Flow, stepContext, WorkflowDivergenceError, WorkflowScript } from '../../lib/core/index.js';
import type { FakeWorkflowClock } from '../../lib/testing/index.js';
import { fakeApp, T0, untilStatus } from './workflow-test-helpers.js';

describe('WorkflowRuntime (worker, in-memory, fake clock)', () => {
  let app: StemWorkflowApp;
  let clock: FakeWorkflowClock;
  afterEach(async () => {
    await app?.shutdown();
  });

  it('script form: sleep + awaitEvent + emit completes with the value', async () => {
    interface Receipt {
      total: number;
      tracking: string;
    }
    ({ app, clock } = await fakeApp({
      scripts: [
        new WorkflowScript<{ orderId: string }, Receipt>({
          name: 'orders.fulfil',
          run: async (ctx) => {
            const charge = await ctx.step('charge', () => ({ total: 42 }));
            const shipped = await ctx.awaitEvent<{ trackingId: string }>(`shipment.${ctx.params.orderId}`, { timeout: '7d' });
            await ctx.sleep('1h');
            return ctx.step('notify', () => ({ total: charge.total, tracking: shipped?.trackingId ?? 'none' }));
          },
        }),
      ],
    }));
    const runId = await app.startWorkflow('orders.fulfil', { orderId: '42' });
    await untilStatus(app.store, runId, 'suspended');
    expect(await app.emit('shipment.42', { trackingId: 'T1' })).toBe(1);
    const sleeping = await untilStatus(app.store, runId, 'suspended', (s) => s.suspension?.type === 'sleep');
    expect(sleeping).toMatchObject({ resumeAt: clock.now() + 3_600_000, suspension: { type: 'sleep' } });
    await clock.advance('1h');
    const result = await app.waitForCompletion<Receipt>(runId, { timeout: '1m' });
    expect(result.timedOut).toBe(false);
    expect(result.value).toEqual({ total: 42, tracking: 'T1' });
    expect(result.state.status).toBe('completed');
    expect((await app.steps(runId)).map((s) => s.name)).toEqual(['charge#0', '$awaitEvent#0', '$sleep#0', 'notify#0']);
  });

  it('flow form: each step gets the previous result; the run returns the last', async () => {
    ({ app, clock } = await fakeApp({
      flows: [
        new Flow<{ day: string }>({
          name: 'report.build',
          build: (f) =>
            f
              .step('collect', (ctx) => [ctx.params.day, 'rows'])
              .step('count', (ctx) => (ctx.previousResult as string[]).length)
              .step('publish', (ctx) => `published ${ctx.previousResult as number}`),
        }),
      ],
    }));
    const runId = await app.startWorkflow('report.build', { day: '2030-01-01' });
    const result = await app.waitForCompletion<string>(runId, { timeout: '1m' });
    expect(result.value).toBe('published 2');
    expect((await app.steps(runId)).map((s) => [s.name, s.value])).toEqual([
      ['collect', ['2030-01-01', 'rows']],
      ['count', 2],
      ['publish', 'published 2'],
    ]);
  });

  it('flow form: an autoVersion step that repeats is checkpointed page#0..2', async () => {
    const iterations: number[] = [];
    ({ app, clock } = await fakeApp({
      flows: [
        new Flow({
          name: 'pages',
          steps: [
            {
              name: 'page',
              options: { autoVersion: true },
              handler: (ctx) => {
                iterations.push(ctx.iteration);
                if (ctx.iteration < 2) ctx.repeat();
                return { page: ctx.iteration, prev: ctx.previousResult ?? null };
              },
            },
            { name: 'done', handler: (ctx) => ctx.previousResult },
          ],
        }),
      ],
    }));
    const runId = await app.startWorkflow('pages');
    expect((await app.waitForCompletion(runId, { timeout: '1m' })).value).toEqual({ page: 2, prev: { page: 1, prev: { page: 0, prev: null } } });
    expect((await app.steps(runId)).map((s) => s.name)).toEqual(['page#0', 'page#1', 'page#2', 'done']);
    expect(iterations).toEqual([0, 1, 2]);
  });

  it('flow form: a step suspends with ctx.sleep / ctx.awaitEvent and runs again with the resume data', async () => {
    const seen: unknown[] = [];
    ({ app, clock } = await fakeApp({
      flows: [
        new Flow({
          name: 'poll',
          build: (f) =>
            f.step('wait', (ctx) => {
              const resume = ctx.takeResumeData();
              seen.push(resume);
              if (resume === undefined) return ctx.sleep('10s', { data: 'woke' });
              if (resume === 'woke') return ctx.awaitEvent('go', { timeout: '1m' });
              return resume;
            }),
        }),
      ],
    }));
    const runId = await app.startWorkflow('poll');
    await untilStatus(app.store, runId, 'suspended');
    await clock.advance('10s');
    await untilStatus(app.store, runId, 'suspended', (s) => s.waitTopic === 'go');
    await app.emit('go', { ok: true });
    expect((await app.waitForCompletion(runId, { timeout: '1m' })).value).toEqual({ ok: true });
    expect(seen).toEqual([undefined, 'woke', { ok: true }]);
  });

  it('rewind re-runs the rewound step and those after it, not the ones before', async () => {
    const runs: string[] = [];
    const step = (name: string) => () => {
      runs.push(name);
      return name;
    };
    ({ app, clock } = await fakeApp({ flows: [new Flow({ name: 'abc', build: (f) => f.step('a', step('a')).step('b', step('b')).step('c', step('c')) })] }));
    const runId = await app.startWorkflow('abc');
    await app.waitForCompletion(runId, { timeout: '1m' });
    const rewound = await app.rewind(runId, 'b');
    expect(rewound).toMatchObject({ status: 'suspended', cursor: 1 });
    await untilStatus(app.store, runId, 'completed');
    expect(runs).toEqual(['a', 'b', 'c', 'b', 'c']);
    expect((await app.steps(runId)).map((s) => s.name)).toEqual(['a', 'b', 'c']);
  });

  it('maxSuspendDuration cancels a run that waits too long, naming the policy', async () => {
    ({ app, clock } = await fakeApp({
      scripts: [new WorkflowScript({ name: 'patient', cancellationPolicy: { maxSuspendDuration: '5m' }, run: async (ctx) => ctx.awaitEvent('never', { timeout: '1h' }) })],
    }));
    const runId = await app.startWorkflow('patient');
    expect(await untilStatus(app.store, runId, 'suspended')).toMatchObject({ resumeAt: T0 + 300_000 });
    await clock.advance('5m');
    const { state } = await app.waitForCompletion(runId, { timeout: '1m' });
    expect(state.status).toBe('cancelled');
    expect(state.cancellationData).toMatchObject({ policy: 'maxSuspendDuration' });
    expect(state.cancellationData!.reason).toMatch(/^maxSuspendDuration/);
  });

  it('maxRunDuration given at start cancels a run that sleeps past it', async () => {
    ({ app, clock } = await fakeApp({ scripts: [new WorkflowScript({ name: 'sleepy', run: async (ctx) => ctx.sleep('1d') })] }));
    const runId = await app.startWorkflow('sleepy', {}, { cancellationPolicy: { maxRunDuration: '1h' } });
    expect(await untilStatus(app.store, runId, 'suspended')).toMatchObject({ resumeAt: T0 + 3_600_000 });
    await clock.advance('1h');
    const { state } = await app.waitForCompletion(runId, { timeout: '1m' });
    expect(state).toMatchObject({ status: 'cancelled', cancellationData: { policy: 'maxRunDuration' } });
    expect(state.cancellationData!.reason).toMatch(/^maxRunDuration/);
  });

  it("a child run's result reaches its waiting parent, which its end wakes", async () => {
    ({ app, clock } = await fakeApp({
      scripts: [
        new WorkflowScript<{ sku: string }>({ name: 'child', run: async (ctx) => ({ packed: ctx.params.sku, note: await ctx.awaitEvent<string>('packed') }) }),
        new WorkflowScript({
          name: 'parent',
          run: async (ctx) => {
            const childId = await ctx.startChild('child', { sku: 'X1' });
            const packed = await ctx.waitForChild<{ packed: string; note: string }>(childId);
            return { childId, packed };
          },
        }),
      ],
    }));
    const parentId = await app.startWorkflow('parent');
    await untilStatus(app.store, parentId, 'suspended');
    const [child] = await app.listRuns({ parentRunId: parentId });
    expect(child).toMatchObject({ workflow: 'child', parentRunId: parentId });
    await untilStatus(app.store, child!.id, 'suspended');
    expect((await app.getRun(parentId))!.suspension).toMatchObject({ type: 'signal', resumeAt: null });
    await app.emit('packed', 'fragile');
    const { value } = await app.waitForCompletion(parentId, { timeout: '1m' });
    expect(value).toEqual({ childId: child!.id, packed: { packed: 'X1', note: 'fragile' } });
  });

  it('a run whose code changed its step order fails with the divergence error naming both steps', async () => {
    let version = 1;
    ({ app, clock } = await fakeApp({
      scripts: [
        new WorkflowScript({
          name: 'changing',
          run: async (ctx) => {
            if (version === 1) await ctx.step('charge', () => 'c');
            else await ctx.step('reserve', () => 'r');
            await ctx.awaitEvent('go');
            return 'done';
          },
        }),
      ],
    }));
    const runId = await app.startWorkflow('changing');
    await untilStatus(app.store, runId, 'suspended');
    version = 2;
    await app.emit('go');
    const { state } = await app.waitForCompletion(runId, { timeout: '1m' });
    expect(state.status).toBe('failed');
    expect(state.lastError).toMatchObject({ type: 'WorkflowDivergenceError', code: new WorkflowDivergenceError('w', 'r', 0, 'a', 'b').code });
    expect(state.lastError!.message).toContain('recorded step "charge#0"');
    expect(state.lastError!.message).toContain('attempted step "reserve#0"');
  });

  it('a throwing step is retried per its policy without re-running the steps before it', async () => {
    const calls = { first: 0, flaky: 0 };
    ({ app, clock } = await fakeApp({
      scripts: [
        new WorkflowScript({
          name: 'flaky',
          run: async (ctx) => {
            await ctx.step('first', () => ++calls.first);
            return ctx.step(
              'flaky',
              (s) => {
                calls.flaky++;
                if (s.attempt < 2) throw new Error(`attempt ${s.attempt} failed`);
                return `ok after ${s.attempt}`;
              },
              { maxRetries: 3, retryDelay: '1s' },
            );
          },
        }),
      ],
    }));
    const runId = await app.startWorkflow('flaky');
    expect(await untilStatus(app.store, runId, 'suspended')).toMatchObject({
      suspension: { type: 'retry', step: 'flaky#0' },
      lastError: { message: 'attempt 0 failed', attempt: 0 },
    });
    await clock.advance('1s');
    await untilStatus(app.store, runId, 'suspended', (s) => s.lastError?.attempt === 1);
    await clock.advance('1s');
    expect((await app.waitForCompletion(runId, { timeout: '1m' })).value).toBe('ok after 2');
    expect(calls).toEqual({ first: 1, flaky: 3 });
  });

  it('a step that runs out of retries fails the run with its error', async () => {
    ({ app, clock } = await fakeApp({
      scripts: [
        new WorkflowScript({
          name: 'doomed',
          run: async (ctx) => {
            try {
              await ctx.step('boom', () => {
                throw new Error('card declined');
              });
            } catch {
              return 'swallowed';
            }
            return 'unreachable';
          },
        }),
      ],
    }));
    const runId = await app.startWorkflow('doomed');
    const { state } = await app.waitForCompletion(runId, { timeout: '1m' });
    expect(state).toMatchObject({ status: 'failed', lastError: { message: 'card declined', step: 'boom#0', attempt: 0 } });
  });

  it('every completed step runs exactly once across a run with 3 suspensions', async () => {
    const counts: Record<string, number> = {};
    const step = (name: string) => () => {
      counts[name] = (counts[name] ?? 0) + 1;
      return name;
    };
    ({ app, clock } = await fakeApp({
      scripts: [
        new WorkflowScript({
          name: 'three',
          run: async (ctx) => {
            await ctx.step('a', step('a'));
            await ctx.sleep('1m');
            await ctx.step('b', step('b'));
            const event = await ctx.awaitEvent<string>('e');
            await ctx.step('c', step('c'));
            const signal = await ctx.waitForSignal<string>('s');
            await ctx.step('d', step('d'));
            return [event, signal];
          },
        }),
      ],
    }));
    const runId = await app.startWorkflow('three');
    await untilStatus(app.store, runId, 'suspended');
    await clock.advance('1m');
    await untilStatus(app.store, runId, 'suspended', (s) => s.waitTopic === 'e');
    await app.emit('e', 'E');
    await untilStatus(app.store, runId, 'suspended', (s) => s.suspension?.type === 'signal');
    await app.signal(runId, 's', 'S');
    expect((await app.waitForCompletion(runId, { timeout: '1m' })).value).toEqual(['E', 'S']);
    expect(counts).toEqual({ a: 1, b: 1, c: 1, d: 1 });
  });

  it('signals sent before the wait are kept and consumed in order, exactly once; an early topic event wakes nobody', async () => {
    ({ app, clock } = await fakeApp({
      scripts: [
        new WorkflowScript({
          name: 'approvals',
          run: async (ctx) => {
            await ctx.awaitEvent('start');
            const first = await ctx.waitForSignal<string>('approve');
            const second = await ctx.waitForSignal<string>('approve');
            const event = await ctx.awaitEvent('late', { timeout: '1m' });
            return { first, second, event };
          },
        }),
      ],
    }));
    const runId = await app.startWorkflow('approvals');
    await untilStatus(app.store, runId, 'suspended');
    await app.signal(runId, 'approve', 'ann');
    await app.signal(runId, 'approve', 'bob');
    expect(await app.emit('late', 'too early')).toBe(0);
    await app.emit('start');
    await untilStatus(app.store, runId, 'suspended', (s) => s.waitTopic === 'late');
    await clock.advance('1m');
    expect((await app.waitForCompletion(runId, { timeout: '1m' })).value).toEqual({ first: 'ann', second: 'bob', event: null });
    expect(await app.store.listSignals(runId)).toEqual([]);
  });

  it('stepContext() inside a step gives the step and its idempotency key; a step returning undefined is not re-run', async () => {
    const keys: string[] = [];
    let silent = 0;
    ({ app, clock } = await fakeApp({
      scripts: [
        new WorkflowScript({
          name: 'keys',
          run: async (ctx) => {
            const charge = async () => {
              keys.push(stepContext().idempotencyKey(), stepContext().idempotencyKey('psp'));
              return stepContext().checkpoint;
            };
            await ctx.step('charge', charge);
            await ctx.step('silent', () => {
              silent++;
            });
            await ctx.sleep('1s');
            return ctx.step('charge', charge);
          },
        }),
      ],
    }));
    const runId = await app.startWorkflow('keys');
    await untilStatus(app.store, runId, 'suspended');
    await clock.advance('1s');
    expect((await app.waitForCompletion(runId, { timeout: '1m' })).value).toBe('charge#1');
    expect(keys).toEqual([`keys/${runId}/charge#0`, `keys/${runId}/charge#0/psp`, `keys/${runId}/charge#1`, `keys/${runId}/charge#1/psp`]);
    expect(silent).toBe(1);
    expect((await app.steps(runId)).find((s) => s.name === 'silent#0')).toMatchObject({ value: undefined });
  });

  it('waitForCompletion reports timedOut when the run has not ended in time', async () => {
    ({ app, clock } = await fakeApp({ scripts: [new WorkflowScript({ name: 'forever', run: async (ctx) => ctx.awaitEvent('never') })] }));
    const runId = await app.startWorkflow('forever');
    await untilStatus(app.store, runId, 'suspended');
    const waiting = app.waitForCompletion(runId, { timeout: '10s' });
    await clock.advance('10s');
    const result = await waiting;
    expect(result).toMatchObject({ timedOut: true, value: undefined, state: { status: 'suspended' } });
  });
});
