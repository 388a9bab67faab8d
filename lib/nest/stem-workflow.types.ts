import type { FlowContext } from '../core/workflow/workflow-context.js';
import type { StartWorkflowOptions } from '../core/workflow/workflow-client.js';

declare const WORKFLOW_RESULT: unique symbol;

/**
 * A run id that remembers the result type of its workflow, so `waitForCompletion(runId)` is
 * typed without naming the type again. It is a plain string at runtime; any string is accepted
 * where one is expected (its result is then `unknown`).
 */
export type WorkflowRunId<R = unknown> = string & { readonly [WORKFLOW_RESULT]?: R };

/** A `@Workflow()` class. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WorkflowClass<C = any> = abstract new (...args: any[]) => C;

type IsUnknown<T> = unknown extends T ? ([T] extends [unknown] ? true : false) : false;

/** The params a flow-form class declares through the `FlowContext<P>` of its steps (`unknown` when none does). */
export type FlowParamsOf<C> = [
  { [K in keyof C]: C[K] extends (ctx: FlowContext<infer P>, ...rest: never[]) => unknown ? (IsUnknown<P> extends true ? never : P) : never }[keyof C],
] extends [never]
  ? unknown
  : { [K in keyof C]: C[K] extends (ctx: FlowContext<infer P>, ...rest: never[]) => unknown ? (IsUnknown<P> extends true ? never : P) : never }[keyof C];

/** The params of a `@Workflow()` class: `run`'s first parameter (script form), or its steps' `FlowContext<P>` (flow form). */
export type WorkflowClassParams<C> = C extends { run(params: infer P, ...rest: never[]): unknown } ? P : FlowParamsOf<C>;

/** The result of a `@Workflow()` class: what `run` resolves with (script form); `unknown` for the flow form. */
export type WorkflowClassResult<C> = C extends { run(...args: never[]): infer R } ? Awaited<R> : unknown;

/** The rest of a `start(Class, ...)` call: params (optional when the class does not type them) and options. */
export type StartWorkflowArgs<P> = IsUnknown<P> extends true ? [params?: P, options?: StartWorkflowOptions] : [params: P, options?: StartWorkflowOptions];
