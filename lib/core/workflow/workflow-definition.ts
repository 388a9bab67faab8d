import type { Flow } from './flow.js';
import type { WorkflowScript } from './workflow-script.js';

/** Anything a {@link WorkflowRuntime} runs: a {@link Flow} or a {@link WorkflowScript}. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WorkflowDefinition<P = any, R = any> = Flow<P, R> | WorkflowScript<P, R>;

/** The result type of a definition. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WorkflowResultOf<D> = D extends Flow<any, infer R> ? R : D extends WorkflowScript<any, infer R> ? R : unknown;

/** The params type of a definition. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WorkflowParamsOf<D> = D extends Flow<infer P, any> ? P : D extends WorkflowScript<infer P, any> ? P : unknown;
