import type { TaskSearchRequest, TaskStatusWithArgs, ThroughputBucket, ThroughputRequest } from '../../core/contracts/introspection.js';
import type { TaskStatusPage } from '../../core/contracts/result-backend.js';
import type { TaskState } from '../../core/envelope.js';
import { fillThroughput, planThroughput, THROUGHPUT_RETENTION_MS, zeroStateCounts } from '../../core/utils/throughput-buckets.js';
import type { PostgresContext } from './postgres.connection.js';
import { type StatusRow, statusFromRow } from './postgres.status-row.js';
import * as sql from './sql/introspection.sql.js';
import { STATUS } from './sql/results.sql.js';

const STATES: ReadonlySet<string> = new Set(Object.keys(zeroStateCounts()));

/** `LIKE` pattern matching text that starts with `prefix`. */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The operations queries of the Postgres result backend. Counts and finished tasks per minute
 * read the counter tables the `results` triggers keep (migration 0008), so they cost the same on a
 * million statuses as on ten; searches walk the listing indexes newest first.
 */
export class PostgresStatusQueries {
  constructor(private readonly ctx: PostgresContext) {}

  /** Live statuses per state; statuses expired but not yet swept still count. */
  async countByState(queue?: string): Promise<Record<TaskState, number>> {
    const { rows } = await this.ctx.pool.query<{ state: string; n: number }>(sql.countByState(this.ctx.s), [queue ?? null]);
    const counts = zeroStateCounts();
    for (const row of rows) if (STATES.has(row.state)) counts[row.state as TaskState] = Math.max(0, Number(row.n));
    return counts;
  }

  async throughput(request: ThroughputRequest): Promise<ThroughputBucket[]> {
    const plan = planThroughput(request, Date.now());
    const { rows } = await this.ctx.pool.query<{ minute_ms: number; state: string; n: number }>(sql.throughput(this.ctx.s), [
      plan.firstMinute,
      plan.lastMinute,
      request.queue ?? null,
    ]);
    const minutes = new Map<number, { succeeded: number; failed: number }>();
    for (const row of rows) {
      let counts = minutes.get(row.minute_ms);
      if (!counts) minutes.set(row.minute_ms, (counts = { succeeded: 0, failed: 0 }));
      if (row.state === 'succeeded' || row.state === 'failed') counts[row.state] += Number(row.n);
    }
    return fillThroughput(plan, minutes);
  }

  /**
   * One statement with only the filters given, so the planner picks the listing index that fits
   * (the state is inlined from the known states, which lets it use the partial indexes).
   */
  async searchStatuses(request: TaskSearchRequest): Promise<TaskStatusPage> {
    const limit = Math.max(0, request.limit ?? 50);
    const offset = Math.max(0, request.offset ?? 0);
    if (request.state !== undefined && !STATES.has(request.state)) return { items: [] };
    const where = ['expires_at > now()'];
    const values: unknown[] = [];
    const param = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    if (request.state !== undefined) where.push(`state = '${request.state}'`);
    if (request.queue !== undefined) where.push(`queue = ${param(request.queue)}`);
    if (request.name !== undefined) where.push(`name = ${param(request.name)}`);
    if (request.idPrefix !== undefined && request.idPrefix !== '') where.push(`id LIKE ${param(likePrefix(request.idPrefix))}`);
    if (request.argsContain !== undefined) where.push(`args @> ${param(JSON.stringify(request.argsContain))}::jsonb`);
    const text = `SELECT ${STATUS} FROM ${this.ctx.s}.results WHERE ${where.join(' AND ')} ORDER BY updated_at DESC, id DESC LIMIT ${param(limit + 1)} OFFSET ${param(offset)}`;
    const { rows } = await this.ctx.pool.query<StatusRow>(text, values);
    const items = rows.slice(0, limit).map(statusFromRow);
    return { items, ...(rows.length > limit ? { nextOffset: offset + items.length } : {}) };
  }

  async getWithArgs(id: string): Promise<TaskStatusWithArgs | null> {
    const { rows } = await this.ctx.pool.query<StatusRow & { args: string | null; args_truncated: number | null }>(sql.getWithArgs(this.ctx.s, STATUS), [id]);
    const row = rows[0];
    if (!row) return null;
    const status = statusFromRow(row);
    if (row.args !== null) return { ...status, args: JSON.parse(row.args) as unknown };
    return row.args_truncated !== null ? { ...status, argsTruncated: row.args_truncated } : status;
  }

  /** Folds the counter rows of closed connections and drops finished-task buckets past the retention. */
  async compact(): Promise<void> {
    await this.ctx.pool.query(sql.compactCounters(this.ctx.s), [Date.now() - THROUGHPUT_RETENTION_MS]);
  }
}
