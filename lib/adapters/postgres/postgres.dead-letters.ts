import type pg from 'pg';
import type { DeadLetterEntry, DeadLetterPage, PurgeDeadLettersOptions, ReplayOptions, ReplayResult } from '../../core/contracts/broker.js';
import type { Envelope } from '../../core/envelope.js';
import type { PostgresContext } from './postgres.connection.js';
import { decodeEnvelope } from './postgres.envelope-codec.js';
import { withTransaction } from './postgres.transaction.js';
import * as sql from './sql/dead-letters.sql.js';

interface EntryRow {
  id?: string;
  envelope: string;
  reason: string;
  meta: Record<string, unknown>;
  dead_ms: number;
  task_id: string;
  queue: string;
}

/**
 * The dead-letter operations of {@link PostgresBroker}: list (newest first, offset paging), get
 * by task id, replay (dry run, delay, since; attempt + 1) and purge.
 */
export class PostgresDeadLetters {
  constructor(
    private readonly ctx: PostgresContext,
    private readonly publishWith: (client: pg.ClientBase, envelopes: readonly Envelope[]) => Promise<void>,
  ) {}

  async list(queue: string, options: { limit?: number; offset?: number } = {}): Promise<DeadLetterPage> {
    const limit = options.limit ?? 50;
    const offset = options.offset ?? 0;
    const { rows } = await this.ctx.pool.query<EntryRow>(sql.listDeadLetters(this.ctx.s), [queue, limit + 1, offset]);
    const items = rows.slice(0, limit).map(toEntry);
    return { items, ...(rows.length > limit ? { nextOffset: offset + items.length } : {}) };
  }

  async get(queue: string, id: string): Promise<DeadLetterEntry | null> {
    const { rows } = await this.ctx.pool.query<EntryRow>(sql.getDeadLetter(this.ctx.s), [queue, id]);
    return rows[0] ? toEntry(rows[0]) : null;
  }

  async replay(queue: string, options: ReplayOptions = {}): Promise<ReplayResult> {
    const limit = options.limit ?? 50;
    const since = options.since ?? null;
    if (options.dryRun) {
      const { rows } = await this.ctx.pool.query<EntryRow>(sql.selectDeadLettersForReplay(this.ctx.s, false), [queue, since, limit]);
      return { entries: rows.map(toEntry), dryRun: true };
    }
    return withTransaction(this.ctx.pool, async (client) => {
      const { rows } = await client.query<EntryRow>(sql.selectDeadLettersForReplay(this.ctx.s, true), [queue, since, limit]);
      if (rows.length === 0) return { entries: [], dryRun: false };
      const entries = rows.map(toEntry);
      const notBefore = options.delay ? Date.now() + options.delay : undefined;
      const envelopes = entries.map((entry) => {
        const { notBefore: _previous, ...rest } = entry.envelope;
        const replayed: Envelope = { ...rest, attempt: entry.envelope.attempt + 1, ...(notBefore !== undefined ? { notBefore } : {}) };
        return options.transform ? options.transform(replayed) : replayed;
      });
      await client.query(sql.deleteDeadLettersById(this.ctx.s), [rows.map((row) => row.id)]);
      await this.publishWith(client, envelopes);
      return { entries, dryRun: false };
    });
  }

  async purge(queue: string, options: PurgeDeadLettersOptions = {}): Promise<number> {
    const { rowCount } = await this.ctx.pool.query(sql.purgeDeadLetters(this.ctx.s), [queue, options.since ?? null, options.limit ?? null]);
    return rowCount ?? 0;
  }
}

function toEntry(row: EntryRow): DeadLetterEntry {
  const decoded = decodeEnvelope(row.envelope);
  const envelope: Envelope = decoded.ok
    ? decoded.envelope
    : { id: row.task_id, name: 'unknown', args: null, headers: {}, queue: row.queue, priority: 0, attempt: 0, enqueuedAt: Math.round(row.dead_ms), meta: {} };
  return { envelope, reason: row.reason, meta: row.meta ?? {}, deadAt: Math.round(row.dead_ms) };
}
