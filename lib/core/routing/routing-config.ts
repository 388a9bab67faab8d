/**
 * The routing config as written by users (module option `routing`, or `STEM_ROUTING_CONFIG` as
 * JSON, YAML or a path to a `.json`/`.yaml`/`.yml` file). Keys may be camelCase or snake_case
 * (`defaultQueue` or `default_queue`, `priorityRange` or `priority_range`, `priorityOverride` or
 * `priority_override`). Unknown keys are refused, so a typo fails at startup.
 *
 * @example
 * const routing: RoutingConfig = {
 *   defaultQueue: { queue: 'primary', alias: 'default', fallbacks: ['legacy'] },
 *   queues: { reports: { priorityRange: [0, 3] }, primary: {} },
 *   broadcasts: ['cache'],
 *   routes: [
 *     { match: { task: 'reports.*' }, target: 'reports' },
 *     { match: { task: 'cache.flush' }, target: { type: 'broadcast', name: 'cache' } },
 *     { match: { headers: { tenant: 'vip' } }, target: 'primary', priorityOverride: 9 },
 *   ],
 * };
 */
export interface RoutingConfig {
  /**
   * The queue a task goes to when no route, no `@Task` queue and no `defaults.queue` names one: a
   * queue name, or `{ queue, alias, fallbacks }`. `alias` (and always `default`) resolve to `queue`
   * wherever a queue is named; a worker subscribed to the default queue also consumes the
   * `fallbacks` (e.g. the old queue name while a rename drains).
   * @default { queue: 'default', alias: 'default', fallbacks: [] }
   */
  readonly defaultQueue?: string | DefaultQueueConfig;
  /** Declared queues with their priority range. A queue not declared has the range 0–9. */
  readonly queues?: Readonly<Record<string, QueueConfig | null>>;
  /** Broadcast channels: names, or a map of name to options (none yet). A broadcast route target must be declared here. */
  readonly broadcasts?: readonly string[] | Readonly<Record<string, BroadcastConfig | null>>;
  /** Routes, evaluated in order; the first that matches decides. */
  readonly routes?: readonly RouteConfig[];
}

/** The default queue of a {@link RoutingConfig}. */
export interface DefaultQueueConfig {
  /** @default 'default' */
  readonly queue?: string;
  /** Another name that resolves to `queue`. @default 'default' */
  readonly alias?: string;
  /** Queues that workers of the default queue consume too. @default [] */
  readonly fallbacks?: readonly string[];
}

/** A declared queue. */
export interface QueueConfig {
  /**
   * Priorities tasks of this queue may have, `[min, max]` or `{ min, max }` within 0–9; a task's
   * priority is clamped into it. @default [0, 9]
   */
  readonly priorityRange?: readonly [number, number] | { readonly min: number; readonly max: number };
}

/** A declared broadcast channel (no options yet; `{}` or `null`). */
export type BroadcastConfig = Readonly<Record<string, never>>;

/** One route: when `match` holds, the task goes to `target`. */
export interface RouteConfig {
  /** A label shown by `stem routing dump` and in errors. @default `routes[<index>]` */
  readonly name?: string;
  /** Every given criterion must hold; a route with an empty match matches every task. */
  readonly match: RouteMatchConfig;
  /** A queue name (alias allowed), or `{ type: 'queue' | 'broadcast', name }`. */
  readonly target: string | RouteTargetConfig;
  /** Priority 0–9 for the tasks this route sends (a per-call `priority` still wins); clamped into the target queue's range. */
  readonly priorityOverride?: number;
}

/** What a route matches on. */
export interface RouteMatchConfig {
  /** Task name globs: `*` any run of characters (dots included), `?` one character. Any of a list matches. */
  readonly task?: string | readonly string[];
  /** Headers of the call that must all be present with these exact values. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The queue the task would go to without routes (its `@Task` queue, else the default queue); aliases resolve. */
  readonly queue?: string;
}

/** Where a route sends a task. */
export interface RouteTargetConfig {
  /** @default 'queue' */
  readonly type?: 'queue' | 'broadcast';
  readonly name: string;
}
