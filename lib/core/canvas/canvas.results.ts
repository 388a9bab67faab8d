import type { TaskContext } from '../task-context.js';
import type { TaskError } from '../envelope.js';
import { CanvasMeta } from './canvas.constants.js';

type MetaHolder = Pick<TaskContext, 'meta'>;

/**
 * The body results of a chord, in body order, inside the chord callback.
 *
 * @example
 * registry.register({ name: 'sum', call: (ctx) => chordResults<number>(ctx).reduce((a, b) => a + b, 0) });
 */
export function chordResults<T = unknown>(ctx: MetaHolder): T[] {
  const results = ctx.meta[CanvasMeta.chordResults];
  return Array.isArray(results) ? (results as T[]) : [];
}

/** The result of the previous chain step (or of the parent of a `link` callback); `undefined` for the first step. */
export function parentResult<T = unknown>(ctx: MetaHolder): T | undefined {
  return ctx.meta[CanvasMeta.parentResult] as T | undefined;
}

/** The error of the task whose failure enqueued this `linkError` callback. */
export function parentError(ctx: MetaHolder): TaskError | undefined {
  return ctx.meta[CanvasMeta.parentError] as TaskError | undefined;
}
