import { isTerminalWorkflowStatus, type WorkflowStatus } from '../../core/workflow/run-state.js';
import { parseCheckpointName } from '../../core/workflow/workflow.constants.js';
import { toMillis } from '../../core/workflow/workflow-duration.js';
import { WorkflowRuntime } from '../../core/workflow/workflow-runtime.js';
import { WorkflowScript } from '../../core/workflow/workflow-script.js';
import { type CliContext, iso, parseCount, UsageError } from '../cli-context.js';
import { table, age } from '../table.js';
import { brief, printRun, runsTable } from './wf-format.js';

/** Flags of `stem wf`. */
export interface WfFlags {
  payload?: string;
  queue?: string;
  workflow?: string;
  status?: string;
  limit?: string;
  offset?: string;
  reason?: string;
  step?: string;
  topic?: string;
  wait?: boolean;
  timeout?: string;
  'dry-run'?: boolean;
}

const STATUSES: readonly WorkflowStatus[] = ['running', 'suspended', 'completed', 'failed', 'cancelled'];

function parsePayload(flags: WfFlags, fallback: unknown): unknown {
  if (flags.payload === undefined) return fallback;
  try {
    return JSON.parse(flags.payload) as unknown;
  } catch (error) {
    throw new UsageError(`-p must be JSON (e.g. -p '{"orderId":"42"}'): ${(error as Error).message}`);
  }
}

/** A runtime that only starts, emits, cancels and rewinds: the workers that own the definitions run the runs. */
async function clientRuntime(ctx: CliContext, flags: WfFlags, starts?: string): Promise<WorkflowRuntime> {
  const runtime = new WorkflowRuntime({ store: await ctx.workflowStore(), producer: await ctx.producer(), ...(flags.queue ? { queue: flags.queue } : {}) });
  if (starts) {
    runtime.register(
      new WorkflowScript({
        name: starts,
        source: 'stem CLI',
        run: () => {
          throw new Error(`workflow "${starts}" runs in the workers that define it, not in the stem CLI`);
        },
      }),
    );
  }
  return runtime;
}

/** `stem wf start|ls|show|cancel|rewind|emit|waiters`: operate workflow runs. */
export async function wfCommand(ctx: CliContext, action: string | undefined, args: readonly string[], flags: WfFlags): Promise<number> {
  const arg = (what: string) => {
    const value = args[0];
    if (!value) throw new UsageError(`stem wf ${action} needs ${what}`);
    return value;
  };
  switch (action) {
    case 'start': {
      const name = arg('<workflow name>');
      const runtime = await clientRuntime(ctx, flags, name);
      const runId = await runtime.start(name, parsePayload(flags, {}));
      if (!flags.wait) {
        ctx.print({ runId, workflow: name, queue: runtime.queue }, () => ctx.io.out(`Started ${name} run ${runId} (queue "${runtime.queue}").`));
        return 0;
      }
      if (ctx.interactive) ctx.io.err(`Started ${runId}; waiting for it to end...`);
      const done = await runtime.waitForCompletion(runId, { timeout: flags.timeout ? toMillis(flags.timeout, '--timeout') : 60_000 });
      ctx.print({ runId, status: done.state.status, timedOut: done.timedOut, result: done.state.result, lastError: done.state.lastError }, () =>
        ctx.io.out(
          done.timedOut
            ? `Run ${runId} is still ${done.state.status} after the timeout.`
            : `Run ${runId} ${done.state.status}: ${brief(done.state.result ?? done.state.lastError)}`,
        ),
      );
      return done.state.status === 'completed' ? 0 : 1;
    }
    case 'ls': {
      if (flags.status && !STATUSES.includes(flags.status as WorkflowStatus)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
      const store = await ctx.workflowStore();
      const runs = await store.listRuns({
        ...(flags.workflow ? { workflow: flags.workflow } : {}),
        ...(flags.status ? { status: flags.status as WorkflowStatus } : {}),
        limit: parseCount('limit', flags.limit, 20),
        offset: parseCount('offset', flags.offset, 0),
      });
      ctx.print(runs, () => {
        if (runs.length === 0) ctx.io.out('No workflow runs.');
        else for (const line of runsTable(runs)) ctx.io.out(line);
      });
      return 0;
    }
    case 'show': {
      const store = await ctx.workflowStore();
      const runId = arg('<run id>');
      const run = await store.get(runId);
      if (!run) {
        ctx.io.err(`No workflow run ${runId}.`);
        return 1;
      }
      const steps = await store.listSteps(runId);
      const signals = await store.listSignals(runId);
      ctx.print({ ...run, steps, signals }, () => printRun(ctx, run, steps));
      return 0;
    }
    case 'cancel': {
      const runId = arg('<run id>');
      const runtime = await clientRuntime(ctx, flags);
      const before = await runtime.get(runId);
      if (!before) {
        ctx.io.err(`No workflow run ${runId}.`);
        return 1;
      }
      const ended = await runtime.cancel(runId, flags.reason ?? 'cancelled from the stem CLI');
      if (!ended || ended.status !== 'cancelled' || isTerminalWorkflowStatus(before.status)) {
        ctx.io.err(`Run ${runId} had already ended (${before.status}); nothing changed.`);
        return 1;
      }
      ctx.print(ended, () => ctx.io.out(`Cancelled ${runId}: ${ended.cancellationData?.reason}`));
      return 0;
    }
    case 'rewind': {
      const runId = arg('<run id>');
      if (!flags.step) throw new UsageError('stem wf rewind needs --step <step name>');
      const store = await ctx.workflowStore();
      if (!(await store.get(runId))) {
        ctx.io.err(`No workflow run ${runId}.`);
        return 1;
      }
      const steps = await store.listSteps(runId);
      const from = steps.findIndex((s) => s.name === flags.step || parseCheckpointName(s.name).step === flags.step);
      if (from < 0) {
        ctx.io.err(`Run ${runId} has no checkpoint of step "${flags.step}"; it has: ${steps.map((s) => s.name).join(', ') || 'none'}.`);
        return 1;
      }
      const again = steps.slice(from);
      if (flags['dry-run']) {
        ctx.print({ runId, step: flags.step, wouldRunAgain: again.map((s) => s.name) }, () => {
          ctx.io.out(`Dry run: rewinding ${runId} to "${flags.step}" would run these ${again.length} completed step(s) again:`);
          for (const line of table(
            ['#', 'CHECKPOINT', 'COMPLETED'],
            again.map((s) => [String(s.position), s.name, iso(s.completedAt)]),
          ))
            ctx.io.out(line);
        });
        return 0;
      }
      const rewound = await (await clientRuntime(ctx, flags)).rewind(runId, flags.step);
      ctx.print(rewound, () => ctx.io.out(`Rewound ${runId} to "${flags.step}": ${again.length} step(s) run again (${again.map((s) => s.name).join(', ')}).`));
      return 0;
    }
    case 'emit': {
      const topic = arg('<topic>');
      const runtime = await clientRuntime(ctx, flags);
      if (ctx.interactive) ctx.io.err(`Emitting to "${topic}" (${(await runtime.store.runsWaitingOn(topic)).length} run(s) waiting)...`);
      const resumed = await runtime.emit(topic, parsePayload(flags, null));
      ctx.print({ topic, resumed }, () => ctx.io.out(`Emitted "${topic}": ${resumed} run(s) resumed.`));
      return 0;
    }
    case 'waiters': {
      const store = await ctx.workflowStore();
      const watchers = await store.listWatchers(flags.topic, { limit: parseCount('limit', flags.limit, 100) });
      const now = Date.now();
      ctx.print(watchers, () => {
        if (watchers.length === 0) ctx.io.out(flags.topic ? `No run waits on "${flags.topic}".` : 'No run waits on an event.');
        else
          for (const line of table(
            ['TOPIC', 'RUN ID', 'WORKFLOW', 'STEP', 'DEADLINE', 'AGE'],
            watchers.map((w) => [w.topic, w.runId, w.workflow, w.step, iso(w.deadline), age(now - w.createdAt)]),
          ))
            ctx.io.out(line);
      });
      return 0;
    }
    default:
      throw new UsageError(`unknown wf action "${action ?? ''}"; use start, ls, show, cancel, rewind, emit or waiters`);
  }
}
