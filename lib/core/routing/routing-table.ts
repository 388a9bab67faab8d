import type { RoutingConfig } from './routing-config.js';
import { normalizeRouting, type NormalizedRoute, type NormalizedRouting, type PriorityRange } from './routing-normalize.js';
import { parseRoutingSource, ROUTING_CONFIG_ENV } from './routing-source.js';

/** A routing config, a loaded table, or config text / a file path (see {@link parseRoutingSource}). */
export type RoutingInput = RoutingConfig | RoutingTable | string;

/** What the producer asks the table for one enqueue. */
export interface RouteRequest {
  /** Task name. */
  readonly task: string;
  /** Headers of the call (the ones a route may match). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The call's own `queue` option: it wins over every route. */
  readonly queue?: string;
  /** The task's `@Task` queue, else the module's `defaults.queue`: used when no route matches. */
  readonly taskQueue?: string;
  /** The call's own `priority` option: it wins over a route's `priorityOverride`. */
  readonly priority?: number;
  /** The task's priority, else the module default. @default 0 */
  readonly taskPriority?: number;
}

/** Which route decided, for `stem routing dump` and logs. */
export interface MatchedRoute {
  readonly index: number;
  readonly label: string;
}

/** Where one enqueue goes. */
export type RouteDecision =
  | {
      readonly type: 'queue';
      readonly queue: string;
      /** The priority after overrides, clamped into the queue's range. */
      readonly priority: number;
      readonly priorityRange: PriorityRange;
      /** Why this queue: the call named it, a route matched, the task's queue, or the default queue. */
      readonly reason: 'call' | 'route' | 'task' | 'default';
      readonly route?: MatchedRoute;
    }
  | {
      readonly type: 'broadcast';
      readonly channel: string;
      readonly priority: number;
      readonly reason: 'route';
      readonly route: MatchedRoute;
    };

/** The table as `stem routing dump --json` prints it. */
export interface RoutingTableDescription {
  readonly defaultQueue: { readonly queue: string; readonly alias: string; readonly fallbacks: readonly string[] };
  readonly aliases: Readonly<Record<string, string>>;
  readonly queues: Readonly<Record<string, PriorityRange>>;
  readonly broadcasts: readonly string[];
  readonly routes: readonly {
    readonly label: string;
    readonly match: { readonly task?: readonly string[]; readonly headers?: Readonly<Record<string, string>>; readonly queue?: string };
    readonly target: { readonly type: 'queue' | 'broadcast'; readonly name: string };
    readonly priorityOverride?: number;
  }[];
}

const FULL_RANGE: PriorityRange = { min: 0, max: 9 };

const clamp = (value: number, range: PriorityRange) => Math.min(range.max, Math.max(range.min, value));

/**
 * A validated routing config that resolves where each enqueue goes. Precedence: the call's
 * `queue` > the first matching route > the task's `@Task` queue > `defaults.queue` > the routing
 * default queue. A call that names its queue is not routed; aliases still resolve and its
 * priority is still clamped into that queue's range.
 *
 * @example
 * const table = RoutingTable.from({ queues: { reports: { priorityRange: [0, 3] } }, routes: [{ match: { task: 'reports.*' }, target: 'reports' }] });
 * table.resolve({ task: 'reports.daily', priority: 8 }); // { type: 'queue', queue: 'reports', priority: 3, ... }
 */
export class RoutingTable {
  private readonly config: NormalizedRouting;

  /** @throws RoutingConfigError naming the field at fault */
  constructor(config: RoutingConfig | unknown) {
    this.config = normalizeRouting(config);
  }

  /**
   * A table from a config object, config text (JSON or YAML) or a file path; a table is returned as is.
   * @param origin where a text came from, for messages
   */
  static from(input: RoutingInput, origin = 'routing'): RoutingTable {
    if (input instanceof RoutingTable) return input;
    return new RoutingTable(typeof input === 'string' ? parseRoutingSource(input, origin) : input);
  }

  /** The table `STEM_ROUTING_CONFIG` describes, or `undefined` when it is unset or empty. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): RoutingTable | undefined {
    const source = env[ROUTING_CONFIG_ENV];
    return source?.trim() ? RoutingTable.from(source, ROUTING_CONFIG_ENV) : undefined;
  }

  /** The queue tasks go to when nothing else names one. */
  get defaultQueue(): string {
    return this.config.defaultQueue;
  }

  /** Declared broadcast channels. */
  get broadcasts(): readonly string[] {
    return this.config.broadcasts;
  }

  /** Whether some route sends tasks to a broadcast channel (the broker then needs the `broadcast` capability). */
  get routesToBroadcasts(): boolean {
    return this.config.routes.some((r) => r.target.type === 'broadcast');
  }

  /** The queue a name stands for (an alias resolves, any other name is itself). */
  queueFor(name: string): string {
    return this.config.aliases.get(name) ?? name;
  }

  /** Priorities a queue accepts (0–9 unless it is declared with a range). */
  priorityRange(queue: string): PriorityRange {
    return this.config.queues.get(this.queueFor(queue)) ?? FULL_RANGE;
  }

  /** Where one enqueue goes, and with which priority. */
  resolve(request: RouteRequest): RouteDecision {
    const base = request.priority ?? request.taskPriority ?? 0;
    if (request.queue !== undefined) return this.toQueue(this.queueFor(request.queue), base, 'call');
    const fallback = request.taskQueue !== undefined ? this.queueFor(request.taskQueue) : this.config.defaultQueue;
    const headers = request.headers ?? {};
    for (const route of this.config.routes) {
      if (!matches(route, request.task, headers, fallback)) continue;
      const priority = request.priority ?? route.priorityOverride ?? request.taskPriority ?? 0;
      const matched = { index: route.index, label: route.label };
      if (route.target.type === 'broadcast') return { type: 'broadcast', channel: route.target.name, priority, reason: 'route', route: matched };
      return this.toQueue(route.target.name, priority, 'route', matched);
    }
    return this.toQueue(fallback, base, request.taskQueue !== undefined ? 'task' : 'default');
  }

  /**
   * Every queue a task may be routed to, whatever headers its calls carry: the targets of the
   * routes that match its name and queue (a route matching on headers only when a call has them),
   * up to the first route that matches without headers, else its own queue. Broadcast targets are
   * left out (workers subscribe to channels by name). A worker that infers its queues consumes
   * these, so a task sent to a queue by a header route is consumed too.
   */
  queuesOf(request: Pick<RouteRequest, 'task' | 'taskQueue'>): string[] {
    const fallback = request.taskQueue !== undefined ? this.queueFor(request.taskQueue) : this.config.defaultQueue;
    const queues = new Set<string>();
    for (const route of this.config.routes) {
      if (route.taskPatterns && !route.taskPatterns.some((p) => p.test(request.task))) continue;
      if (route.queue !== undefined && route.queue !== fallback) continue;
      if (route.target.type === 'queue') queues.add(route.target.name);
      // NOTE: a route that needs no header matches every call of the task: later routes never apply.
      if (Object.keys(route.headers).length === 0) return [...queues];
    }
    queues.add(fallback);
    return [...queues];
  }

  /**
   * The queues a worker consumes for the names it was given: aliases resolve, and the default
   * queue brings its fallbacks along. Order kept, duplicates dropped.
   */
  workerQueues(names: readonly string[]): string[] {
    const queues = new Set<string>();
    for (const name of names) {
      const queue = this.queueFor(name.trim());
      queues.add(queue);
      if (queue === this.config.defaultQueue) for (const fallback of this.config.fallbacks) queues.add(fallback);
    }
    return [...queues];
  }

  /** The resolved table, as plain data. */
  describe(): RoutingTableDescription {
    const c = this.config;
    return {
      defaultQueue: { queue: c.defaultQueue, alias: c.defaultAlias, fallbacks: c.fallbacks },
      aliases: Object.fromEntries([...c.aliases].filter(([from, to]) => from !== to)),
      queues: Object.fromEntries(c.queues),
      broadcasts: c.broadcasts,
      routes: c.routes.map((r) => ({
        label: r.label,
        match: {
          ...(r.taskGlobs ? { task: r.taskGlobs } : {}),
          ...(Object.keys(r.headers).length ? { headers: r.headers } : {}),
          ...(r.queue !== undefined ? { queue: r.queue } : {}),
        },
        target: r.target,
        ...(r.priorityOverride !== undefined ? { priorityOverride: r.priorityOverride } : {}),
      })),
    };
  }

  private toQueue(queue: string, priority: number, reason: 'call' | 'route' | 'task' | 'default', route?: MatchedRoute): RouteDecision {
    const priorityRange = this.priorityRange(queue);
    return { type: 'queue', queue, priority: clamp(priority, priorityRange), priorityRange, reason, ...(route ? { route } : {}) };
  }
}

function matches(route: NormalizedRoute, task: string, headers: Readonly<Record<string, string>>, queue: string): boolean {
  if (route.taskPatterns && !route.taskPatterns.some((p) => p.test(task))) return false;
  for (const [key, value] of Object.entries(route.headers)) if (headers[key] !== value) return false;
  return route.queue === undefined || route.queue === queue;
}
