import type { RateLimit, RateLimiter } from '../contracts/rate-limiter.js';
import { type Envelope, StemMeta } from '../envelope.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import { GroupRateKeyError } from '../errors/group-rate-key.error.js';
import { groupRateLimitKey, parseRateLimit, taskRateLimitKey } from '../rate-limit.js';
import type { TaskHandler } from '../task-handler.js';
import { DEFAULT_TASK_OPTIONS, type GroupRateKey, type RateLimiterFailureMode, type TaskDefaults } from '../task-options.js';
import type { Clock } from '../utils/clock.js';
import type { Job } from './job.js';
import type { Settlement } from './settlement.js';
import { toTaskError } from './task-error.util.js';
import type { RateLimitScope } from '../signals/signal-map.js';
import type { WorkerSignalSink } from './worker-signals.js';

/** Ms a `failClosed` task waits (at most one interval, then up to as much again) before the limiter is asked again. */
const FAIL_CLOSED_RECHECK_MS = 1_000;

/** Dead-letter reason of a delivery whose `groupRateKey` function failed. */
export const INVALID_RATE_KEY_REASON = 'invalid-rate-key';

/** What the rate-limit step needs from its worker. */
export interface RateLimitAdmissionOptions {
  readonly rateLimiter: RateLimiter;
  readonly defaults: TaskDefaults;
  readonly clock: Clock;
  readonly signals: WorkerSignalSink;
  readonly settlement: Settlement;
}

/**
 * The verdict on one delivery: `admitted: false` means the step already settled it (put it back
 * for later, or dead-lettered it); `meta` goes on the task's `running` status.
 */
export type RateLimitVerdict = { readonly admitted: false } | { readonly admitted: true; readonly meta?: Readonly<Record<string, unknown>> };

/** The rate-limit options of one task, checked and parsed once. */
interface TaskLimits {
  readonly group: RateLimit | null;
  readonly task: RateLimit | null;
  readonly groupKey: GroupRateKey | undefined;
  readonly header: string;
  readonly mode: RateLimiterFailureMode;
}

const ADMITTED: RateLimitVerdict = { admitted: true };
const SETTLED: RateLimitVerdict = { admitted: false };

/**
 * The worker's built-in rate-limit admission: first the group limit (`groupRateLimit`, key
 * `group:<groupRateKey | headers[groupRateKeyHeader] | global>`), then the task limit
 * (`rateLimit`, key `<task>:<tenant | global>`, so each tenant has its own budget; see
 * {@link taskRateLimitKey}). When the task limit turns a delivery away, the group token it took is
 * given back (`RateLimiter.refund`), so a task that did not start costs its group nothing. A denied
 * delivery is put back for the limiter's `retryAfter` plus up to one interval of jitter, keeps
 * its attempt and is not failed (status `queued` with meta `stem.rateLimitedUntil`, signal
 * `task-rate-limited`). When the limiter fails, the task's `groupRateLimiterFailureMode` decides:
 * `failOpen` runs it (meta `stem.rate_limiter.degraded`), `failClosed` delays it.
 */
export class RateLimitAdmission {
  private readonly limits = new WeakMap<TaskHandler, TaskLimits>();
  private readonly overrides = new Map<string, RateLimit | null>();

  constructor(private readonly options: RateLimitAdmissionOptions) {}

  /**
   * Checks and parses a handler's rate-limit options.
   * @throws ConfigurationError naming the task and the option at fault
   */
  prepare(handler: TaskHandler): void {
    this.limitsOf(handler);
  }

  /** Whether `handler` has any rate limit; without one the step costs nothing. */
  applies(handler: TaskHandler): boolean {
    const limits = this.limitsOf(handler);
    return limits.group !== null || this.taskLimit(handler, limits) !== null;
  }

  /** Replaces the task rate limit of task `name` (`null`: none) in this worker. */
  override(name: string, limit: RateLimit | null): void {
    this.overrides.set(name, limit);
  }

  /** Takes the tokens `job` needs, or settles it (delayed, or dead-lettered for a failing `groupRateKey`). */
  async admit(job: Job, handler: TaskHandler, args: unknown): Promise<RateLimitVerdict> {
    const env = job.delivery.envelope;
    const limits = this.limitsOf(handler);
    const degraded: { key: string; error: unknown }[] = [];
    let groupToken: string | undefined;
    if (limits.group) {
      let key: string;
      try {
        key = groupRateLimitKey(groupKeyOf(env, handler, args, limits));
      } catch (error) {
        await this.options.settlement.deadLetter(job, INVALID_RATE_KEY_REASON, toTaskError(error, false), 'failed');
        return SETTLED;
      }
      const taken = await this.take(job, { kind: 'group', key }, limits.group, limits.mode);
      if (taken === 'settled') return SETTLED;
      if (taken === 'allowed') groupToken = key;
      else degraded.push({ key, error: taken.error });
    }
    const limit = this.taskLimit(handler, limits);
    if (limit) {
      const key = taskRateLimitKey(env.name, env.headers[limits.header] || 'global');
      // NOTE: the group token goes back before the delivery is put back and `task-rate-limited`
      // is emitted, so whoever sees the delay also sees the group's budget restored.
      const refund = groupToken !== undefined ? () => this.refund(groupToken, limits.group!) : undefined;
      const taken = await this.take(job, { kind: 'task', key }, limit, limits.mode, refund);
      if (taken === 'settled') return SETTLED;
      if (taken !== 'allowed') degraded.push({ key, error: taken.error });
    }
    if (degraded.length === 0) return ADMITTED;
    const error = degraded[0]!.error;
    const message = error instanceof Error ? error.message : String(error);
    return { admitted: true, meta: { [StemMeta.rateLimiterDegraded]: { keys: degraded.map((d) => d.key), error: message, at: this.options.clock.now() } } };
  }

  /** Gives back a group token of a delivery its task limit turned away. */
  private async refund(key: string, limit: RateLimit): Promise<void> {
    // NOTE: a refund that fails leaves the token spent: the group runs fewer tasks this interval,
    // never more, and the delivery is put back all the same.
    await this.options.rateLimiter.refund?.(key, limit).catch(() => undefined);
  }

  /**
   * One token of `limit` for `scope`: allowed, settled (put back, after `beforePutBack`), or
   * failed open with the limiter's error.
   */
  private async take(
    job: Job,
    scope: RateLimitScope,
    limit: RateLimit,
    mode: RateLimiterFailureMode,
    beforePutBack?: () => Promise<void>,
  ): Promise<'allowed' | 'settled' | { error: unknown }> {
    let decision;
    try {
      decision = await this.options.rateLimiter.acquire(scope.key, limit);
    } catch (error) {
      this.options.signals.emit('task-rate-limiter-degraded', { envelope: job.delivery.envelope, ...scope, mode, error });
      if (mode === 'failOpen') return { error };
      const wait = Math.min(limit.interval, FAIL_CLOSED_RECHECK_MS);
      await beforePutBack?.();
      await this.postpone(job, scope, wait, wait);
      return 'settled';
    }
    if (decision.allowed) return 'allowed';
    await beforePutBack?.();
    await this.postpone(job, scope, decision.retryAfter, limit.interval);
    return 'settled';
  }

  private async postpone(job: Job, scope: RateLimitScope, retryAfter: number, spread: number): Promise<void> {
    // NOTE: spread the retries of a backlog over one interval, so they do not all come back at
    // the same instant and get denied together again.
    const until = this.options.clock.now() + retryAfter + Math.floor(Math.random() * spread);
    await this.options.settlement.postpone(job, until, { [StemMeta.rateLimitedUntil]: until });
    this.options.signals.emit('task-rate-limited', { envelope: job.delivery.envelope, retryAfterMs: retryAfter, scope });
  }

  private taskLimit(handler: TaskHandler, limits: TaskLimits): RateLimit | null {
    const override = this.overrides.get(handler.name);
    return override === undefined ? limits.task : override;
  }

  private limitsOf(handler: TaskHandler): TaskLimits {
    let limits = this.limits.get(handler);
    if (!limits) {
      limits = parseLimits(handler, this.options.defaults);
      this.limits.set(handler, limits);
    }
    return limits;
  }
}

function parseLimits(handler: TaskHandler, defaults: TaskDefaults): TaskLimits {
  const options = handler.options ?? {};
  const mode = options.groupRateLimiterFailureMode ?? defaults.groupRateLimiterFailureMode ?? DEFAULT_TASK_OPTIONS.groupRateLimiterFailureMode;
  if (mode !== 'failOpen' && mode !== 'failClosed') {
    throw new ConfigurationError('groupRateLimiterFailureMode', `task "${handler.name}" has groupRateLimiterFailureMode "${String(mode)}"; use 'failOpen' or 'failClosed'`);
  }
  const header = options.groupRateKeyHeader ?? defaults.groupRateKeyHeader ?? DEFAULT_TASK_OPTIONS.groupRateKeyHeader;
  if (typeof header !== 'string' || header === '') {
    throw new ConfigurationError('groupRateKeyHeader', `task "${handler.name}" has groupRateKeyHeader ${JSON.stringify(header)}; give a header name such as 'tenant'`);
  }
  const groupKey = options.groupRateKey;
  if (groupKey !== undefined && typeof groupKey !== 'function' && (typeof groupKey !== 'string' || groupKey === '')) {
    throw new ConfigurationError('groupRateKey', `task "${handler.name}" has groupRateKey ${JSON.stringify(groupKey)}; give a non-empty string or a function of the delivery`);
  }
  return {
    group: options.groupRateLimit ? parseRateLimit(options.groupRateLimit, handler.name, 'groupRateLimit') : null,
    task: options.rateLimit ? parseRateLimit(options.rateLimit, handler.name) : null,
    groupKey,
    header,
    mode,
  };
}

/**
 * The group of one delivery: `groupRateKey` (a string, or what its function returns), else the
 * `groupRateKeyHeader` header, else `global`.
 * @throws GroupRateKeyError when the function throws or returns something other than a string
 */
function groupKeyOf(env: Envelope, handler: TaskHandler, args: unknown, limits: TaskLimits): string {
  let key: unknown = limits.groupKey;
  if (typeof key === 'function') {
    try {
      key = (limits.groupKey as Exclude<GroupRateKey, string>)({ envelope: env, args, headers: env.headers });
    } catch (error) {
      throw new GroupRateKeyError(handler.name, env.id, `threw "${error instanceof Error ? error.message : String(error)}"`, error);
    }
    if (key !== undefined && typeof key !== 'string') throw new GroupRateKeyError(handler.name, env.id, `returned ${typeof key} ${JSON.stringify(key)}`);
  }
  return (key as string | undefined) || env.headers[limits.header] || 'global';
}
