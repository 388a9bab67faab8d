/**
 * Durable workflows (no Nest import).
 *
 * Definitions:
 * - `new WorkflowScript({ name, run: async (ctx) => ... })`: script form. `run` is replayed from
 *   the top after every suspension or crash; `ctx.step(name, fn, { maxRetries })`, `ctx.sleep(d)`,
 *   `ctx.awaitEvent(topic, { timeout })` (→ payload | null), `ctx.waitForSignal(name, { timeout })`,
 *   `ctx.startChild(name, params)` / `ctx.waitForChild(runId, { timeout })`, `ctx.enqueue(task, args)`
 *   are checkpointed by name and occurrence (`charge#0`, `charge#1`, `$sleep#0`, `$awaitEvent#0`).
 *   `stepContext()` (AsyncLocalStorage) gives the running step's context anywhere inside a step;
 *   `asWorkflowStep(name, fn, options)` turns a method into a checkpointed step (what `@Step`
 *   methods of a class with `run(params, ctx)` become).
 * - `new Flow({ name, build: (f) => f.step(name, (ctx) => ..., { autoVersion, maxRetries }) })` or
 *   `new Flow({ name, steps: [{ name, handler, options }] })`: flow form, steps in order,
 *   `ctx.previousResult`; an `autoVersion` step runs again while it calls `ctx.repeat()`
 *   (checkpoints `page#0..n`); `ctx.sleep()` / `ctx.awaitEvent()` suspend once the step returns and
 *   the step re-runs on resume with `ctx.takeResumeData()`.
 * - Idempotency keys: `<workflow>/<runId>/<checkpoint>[/<scope>]`. Durations: ms or `'200ms' | '30s' | '5m' | '1h' | '7d'`.
 *
 * Running: `new WorkflowRuntime({ store, producer, clock?, queue = 'workflow', runLeaseDuration = '30s' })`,
 * `runtime.register(def)`; put `runtime.taskHandler` (task `stem.workflow.run`, args `{ runId }`)
 * in a worker's registry and `runtime.workerExtension` (run lease claim/renew/release) in its
 * `extensions`, consuming `runtime.queue`; `runtime.startSweeper()` starts the due-run safety net.
 * `WorkflowClient` (implemented by the runtime): `start(name, params, { runId, parentRunId,
 * cancellationPolicy })`, `emit(topic, payload)`, `signal(runId, name, payload)`,
 * `cancel(runId, reason)`, `rewind(runId, step)`, `get`, `steps`, `list`,
 * `waitForCompletion(runId, { timeout, decode })` → `{ value, state, timedOut }`; the runtime adds
 * `startMany(calls)`, `executeRun(runId)` (one in-process advance, for tests), `sweep()`,
 * `register(def)`, `events` (`run:*`, `step:*`). Without a worker setup of your own:
 * `StemWorkflowApp.inMemory({ flows, scripts, clock })` (`nestjs-stem/memory`); in tests a
 * `FakeWorkflowClock` (`nestjs-stem/testing`) makes sleeps and timeouts due without waiting.
 *
 * Storage: the `WorkflowStore` contract (runs, checkpoints, suspensions, durable watchers,
 * signals, leases); `RunState` / `WorkflowStatus` / `WorkflowCancellationPolicy`. Errors carry a
 * stable `code` (`WorkflowDivergenceError` names the recorded and the attempted step).
 *
 * @module
 */
export * from './errors/index.js';
export * from './workflow.constants.js';
export * from './workflow-duration.js';
export * from './run-state.js';
export * from './workflow-store.js';
export * from './workflow-context.js';
export * from './flow.js';
export * from './workflow-script.js';
export * from './workflow-definition.js';
export { asWorkflowStep, currentWorkflow, stepContext } from './step-scope.js';
export * from './workflow-client.js';
export * from './workflow.events.js';
export * from './workflow-runtime.options.js';
export * from './workflow-runtime.js';
export type { RunTaskReason } from './run-executor.js';
export * from './run-watchers.js';
