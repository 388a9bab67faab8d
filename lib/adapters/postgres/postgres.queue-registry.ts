import type { QueueStats } from '../../core/contracts/introspection.js';
import type { PostgresContext } from './postgres.connection.js';
import * as sql from './sql/introspection.sql.js';

/**
 * The Postgres broker's queue list and counts. The insert statements record the queues they
 * publish to in `queues`; a consumer records its queues once per process, so the list costs one
 * indexed read.
 */
export class PostgresQueueRegistry {
  private readonly recorded = new Set<string>();

  constructor(private readonly ctx: PostgresContext) {}

  /**
   * Records queues not recorded by this process yet; never fails (a failed write is tried again
   * at the next call).
   */
  async record(queues: Iterable<string>): Promise<void> {
    const fresh: string[] = [];
    for (const queue of queues) {
      if (this.recorded.has(queue)) continue;
      this.recorded.add(queue);
      fresh.push(queue);
    }
    if (fresh.length === 0) return;
    try {
      await this.ctx.pool.query(sql.registerQueues(this.ctx.s), [fresh]);
    } catch (error) {
      for (const queue of fresh) this.recorded.delete(queue);
      this.ctx.logger.warn(`Could not record queues ${fresh.join(', ')} for listQueues; retrying at the next publish`, error);
    }
  }

  async list(): Promise<string[]> {
    const { rows } = await this.ctx.pool.query<{ name: string }>(sql.listQueues(this.ctx.s));
    return rows.map((r) => r.name);
  }

  /** Exact counts in one statement over the queue's backlog rows and dead letters. */
  async stats(queue: string): Promise<QueueStats> {
    const { rows } = await this.ctx.pool.query<{ pending: number; delayed: number; inflight: number; dead: number; oldest_ms: number | null }>(sql.queueStats(this.ctx.s), [queue]);
    const row = rows[0]!;
    return {
      queue,
      pending: row.pending,
      delayed: row.delayed,
      inflight: row.inflight,
      deadLetters: row.dead,
      oldestReadyAt: row.oldest_ms === null ? null : Math.round(row.oldest_ms),
    };
  }
}
