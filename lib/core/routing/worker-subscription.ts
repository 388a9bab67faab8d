import type { TaskRegistry } from '../task-handler.js';
import { DEFAULT_TASK_OPTIONS, type TaskDefaults } from '../task-options.js';
import { RoutingConfigError } from './routing-config.error.js';
import type { RoutingTable } from './routing-table.js';

/** Comma-separated queues a worker consumes when its options name none. */
export const WORKER_QUEUES_ENV = 'STEM_WORKER_QUEUES';
/** Comma-separated broadcast channels a worker subscribes to when its options name none. */
export const WORKER_BROADCASTS_ENV = 'STEM_WORKER_BROADCASTS';

/** The names of a comma list (`'a, b,,c'` → `['a', 'b', 'c']`), or `undefined` when it holds none. */
export function commaList(value: string | undefined): string[] | undefined {
  const names = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return names.length ? names : undefined;
}

/** The queues and broadcast channels `STEM_WORKER_QUEUES` and `STEM_WORKER_BROADCASTS` name. */
export function workerSubscriptionFromEnv(env: NodeJS.ProcessEnv = process.env): { queues?: string[]; broadcasts?: string[] } {
  const queues = commaList(env[WORKER_QUEUES_ENV]);
  const broadcasts = commaList(env[WORKER_BROADCASTS_ENV]);
  return { ...(queues ? { queues } : {}), ...(broadcasts ? { broadcasts } : {}) };
}

/** What decides a worker's queues. */
export interface WorkerQueuesInput {
  readonly queues?: readonly string[];
  readonly registry: TaskRegistry;
  readonly defaults: TaskDefaults;
  readonly routing?: RoutingTable;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * A worker's queues: the given ones, else `STEM_WORKER_QUEUES`, else every queue its registered
 * tasks may be routed to (route targets, header routes included, else their `@Task` queue, else
 * the default queue; see {@link RoutingTable.queuesOf}).
 * With routing, aliases resolve and the default queue brings its fallbacks.
 */
export function workerQueues({ queues, registry, defaults, routing, env = process.env }: WorkerQueuesInput): string[] {
  const named = queues?.length ? queues : commaList(env[WORKER_QUEUES_ENV]);
  if (named) return routing ? routing.workerQueues(named) : [...new Set(named)];
  const inferred = new Set<string>();
  for (const handler of registry.list()) {
    const taskQueue = handler.options?.queue ?? defaults.queue;
    if (!routing) inferred.add(taskQueue ?? DEFAULT_TASK_OPTIONS.queue);
    else for (const queue of routing.queuesOf({ task: handler.name, ...(taskQueue !== undefined ? { taskQueue } : {}) })) inferred.add(queue);
  }
  if (inferred.size === 0) inferred.add(routing?.defaultQueue ?? defaults.queue ?? DEFAULT_TASK_OPTIONS.queue);
  return routing ? routing.workerQueues([...inferred]) : [...inferred];
}

/**
 * A worker's broadcast channels: the given ones, else `STEM_WORKER_BROADCASTS`. With a routing
 * table each must be one of its declared broadcasts.
 * @throws RoutingConfigError for a channel the routing table does not declare
 */
export function workerBroadcasts(broadcasts: readonly string[] | undefined, routing: RoutingTable | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const named = broadcasts?.length ? [...new Set(broadcasts)] : (commaList(env[WORKER_BROADCASTS_ENV]) ?? []);
  for (const channel of named) {
    if (routing && !routing.broadcasts.includes(channel)) {
      throw new RoutingConfigError(
        'worker.broadcasts',
        `"${channel}" is not a broadcast channel of the routing config (declared: ${routing.broadcasts.join(', ') || 'none'}); declare it under broadcasts or fix the name`,
      );
    }
  }
  return named;
}
