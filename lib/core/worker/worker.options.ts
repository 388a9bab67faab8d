import type { TaskArgsValidator } from '../args-validator.js';
import type { Broker } from '../contracts/broker.js';
import type { RateLimiter } from '../contracts/rate-limiter.js';
import type { ResultBackend } from '../contracts/result-backend.js';
import type { Stem } from '../stem.js';
import type { TaskRegistry } from '../task-handler.js';
import type { TaskDefaults } from '../task-options.js';
import type { Clock } from '../utils/clock.js';

/** How a worker stops. */
export type ShutdownMode = 'warm' | 'soft' | 'hard';

/** Options of a {@link Worker}. */
export interface WorkerOptions {
  readonly broker: Broker;
  /** Where statuses and results are written. Strongly recommended. */
  readonly backend?: ResultBackend;
  readonly registry: TaskRegistry;
  /** Queues to consume. @default the queues of the registered tasks */
  readonly queues?: readonly string[];
  /** Hard cap on tasks running at once. @default 8 */
  readonly concurrency?: number;
  /** Deliveries fetched ahead of free slots (leased and renewed while they wait). @default concurrency */
  readonly prefetch?: number;
  /** Module-wide task defaults (lowest precedence). */
  readonly defaults?: TaskDefaults;
  /** Limiter for tasks with `rateLimit`. @default an in-process limiter */
  readonly rateLimiter?: RateLimiter;
  /** Validates and transforms args (DTOs) before the handler runs. */
  readonly argsValidator?: TaskArgsValidator;
  /** Producer used by `ctx.enqueue()`. @default one built on the same broker and backend */
  readonly producer?: Stem;
  /** Worker id, used as consumer name. @default `stem-worker-<host>-<pid>-<random>` */
  readonly id?: string;
  /** TTL in ms of statuses the worker writes. @default the backend's default */
  readonly resultTtl?: number;
  /** Grace period in ms of a soft shutdown before in-flight tasks are requeued. @default 30000 */
  readonly softShutdownGracePeriod?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}
