/** Metadata key written by `@Task()`. */
export const STEM_TASK_METADATA = 'stem:task';
/** Metadata key written by `@Workflow()`. */
export const STEM_WORKFLOW_METADATA = 'stem:workflow';
/** Metadata key written by `@Step()`. */
export const STEM_STEP_METADATA = 'stem:step';
/** Metadata key written by `@Schedule()`. */
export const STEM_SCHEDULE_METADATA = 'stem:schedule';
/** Metadata key written by `@OnQueueEvent()`. */
export const STEM_QUEUE_EVENT_METADATA = 'stem:queue-event';

/** Injection token of the resolved {@link Broker}. */
export const STEM_BROKER = Symbol.for('stem:broker');
/** Injection token of the resolved {@link ResultBackend} (`null` when disabled). */
export const STEM_RESULT_BACKEND = Symbol.for('stem:result-backend');
/** Injection token of the {@link TaskRegistry} filled from `@Task()` methods. */
export const STEM_TASK_REGISTRY = Symbol.for('stem:task-registry');
/** Injection token of the core {@link Stem} producer. */
export const STEM_PRODUCER = Symbol.for('stem:producer');
/** Injection token of the adapters resolved from the module options. */
export const STEM_ADAPTERS = Symbol.for('stem:adapters');

/** The broker used when none is configured: in-memory, nothing to install. */
export const DEFAULT_BROKER_URL = 'memory://';

/** Injection token of the `WorkflowRuntime` (`null` with `workflows: false`). */
export const STEM_WORKFLOW_RUNTIME = Symbol.for('stem:workflow-runtime');

/** Metadata key written by `@StemMiddleware()`. */
export const STEM_MIDDLEWARE_METADATA = 'stem:middleware';
