import { CanvasMeta } from '../canvas/canvas.constants.js';
import type { SerializedTaskCall } from '../canvas/task-call.serializer.js';
import { UnknownTaskError } from '../errors/unknown-task.error.js';
import type { TaskRegistry } from '../task-handler.js';
import type { TaskOptions } from '../task-options.js';
import { WORKFLOW_RUN_TASK } from '../workflow/workflow.constants.js';

/**
 * Stem's own tasks (the workflow run task): always accepted, and not counted as tasks the
 * process knows, so running workflows does not make a process start checking task names.
 */
const BUILTIN_TASKS: ReadonlySet<string> = new Set([WORKFLOW_RUN_TASK]);

/**
 * A task another process runs, declared so a producer that checks names accepts it: its name, or
 * a definition (`defineTask(...)`) whose options then apply to calls by name.
 */
export type RemoteTask = string | { readonly name: string; readonly options?: TaskOptions };

/** What {@link KnownTasks} checks names against. */
export interface KnownTasksOptions {
  /** The local handlers; read at every call, so tasks registered later count. */
  readonly registry?: TaskRegistry;
  readonly remoteTasks?: readonly RemoteTask[];
  /** Accept any name unchecked. @default false */
  readonly allowUnknownTasks?: boolean;
}

/** Names of the task calls a canvas carries in meta (links, the rest of a chain). */
function carriedNames(meta: Readonly<Record<string, unknown>>): string[] {
  const names: string[] = [];
  const visit = (calls: unknown) => {
    if (!Array.isArray(calls)) return;
    for (const call of calls as SerializedTaskCall[]) {
      if (typeof call?.name !== 'string') continue;
      names.push(call.name);
      visit(call.options?.link);
      visit(call.options?.linkError);
    }
  };
  visit(meta[CanvasMeta.link]);
  visit(meta[CanvasMeta.linkError]);
  visit((meta[CanvasMeta.chain] as { next?: unknown } | undefined)?.next);
  return names;
}

/**
 * The producer's check of task names. A process that knows its tasks (a local handler or a
 * declared remote task) refuses names it does not know, so a typo like `math.addd` fails at the
 * call instead of waiting in a queue no worker consumes. A process that knows none (a plain
 * script with no registry) accepts any name, as does one with `allowUnknownTasks`.
 */
export class KnownTasks {
  private readonly remote = new Map<string, TaskOptions | undefined>();

  constructor(private readonly options: KnownTasksOptions) {
    for (const task of options.remoteTasks ?? []) {
      if (typeof task === 'string') this.remote.set(task, this.remote.get(task));
      else this.remote.set(task.name, task.options);
    }
  }

  /** Options of a declared remote task (a definition), used when a call by name passes none. */
  remoteOptions(name: string): TaskOptions | undefined {
    return this.options.registry?.get(name) ? undefined : this.remote.get(name);
  }

  /**
   * Throws when `name`, or a task a canvas call carries in `meta`, is unknown while names are checked.
   * @throws UnknownTaskError naming the task and the known ones, and how to declare or allow it
   */
  assertKnown(name: string, meta: Readonly<Record<string, unknown>> = {}): void {
    if (this.options.allowUnknownTasks) return;
    // NOTE: a follow-up (chord callback, next chain step, link) is dispatched by a worker for a
    // canvas whose names were checked when it was enqueued; refusing it there would only make the
    // worker's delivery fail again and again.
    if (meta[CanvasMeta.parentResult] !== undefined || meta[CanvasMeta.parentError] !== undefined || meta[CanvasMeta.chordResults] !== undefined) return;
    if (BUILTIN_TASKS.has(name)) return;
    const registry = this.options.registry;
    const local = registry?.list() ?? [];
    const builtins = registry?.get(WORKFLOW_RUN_TASK) ? 1 : 0;
    if (local.length === builtins && this.remote.size === 0) return;
    for (const candidate of [name, ...carriedNames(meta)]) {
      if (!BUILTIN_TASKS.has(candidate) && !this.remote.has(candidate) && !registry?.get(candidate)) {
        const known = local.map((h) => h.name).filter((n) => !BUILTIN_TASKS.has(n));
        throw UnknownTaskError.forEnqueue(candidate, [...new Set([...known, ...this.remote.keys()])].sort());
      }
    }
  }
}
