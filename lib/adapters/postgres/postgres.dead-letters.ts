import type pg from 'pg';
import type { DeadLetterEntry, DeadLetterPage, PurgeDeadLettersOptions, ReplayOptions, ReplayResult } from '../../core/contracts/broker.js';
import type { Envelope } from '../../core/envelope.js';
import { ENVELOPE_LIMITS, malformedPlaceholder } from '../../core/envelope-validator.js';
import { type PostgresContext, retryTransient } from './postgres.connection.js';
import { decodeEnvelope } from './postgres.envelope-codec.js';
import type { PostgresReceipt } from './postgres.receipt.js';
import { prepared } from './postgres.statements.js';
import { withTransaction } from './postgres.transaction.js';
import * as sql from './sql/dead-letters.sql.js';

/** Default retention of dead letters: 7 days. */
export const DEFAULT_DEAD_LETTER_RETENTION_MS = 7 * 24 * 60 * 60 * 1_000;
const SWEEP_BATCH = 1_000;
/** Longest raw copy kept in a sanitized dead letter (base64 characters). */
const MAX_ORIGINAL_BASE64 = 1_048_576;
const UNSTORABLE_TEXT = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text Postgres can store: U+0000 and lone surrogates become U+FFFD, at most `max` characters. */
function storableText(text: string, max: number): string {
  let out = text.replace(UNSTORABLE_TEXT, '\uFFFD');
  if (out.length > max) out = out.slice(0, /[\uD800-\uDBFF]/.test(out[max - 1] ?? '') ? max - 1 : max);
  return out;
}

/** Errors the database raises for the data itself (bad text, JSON it refuses, an index row too big), not for the connection. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code === '54000');
}

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
  private readonly moveStatement: (values: unknown[]) => pg.QueryConfig;
  private readonly sweepStatement: (values: unknown[]) => pg.QueryConfig;

  constructor(
    private readonly ctx: PostgresContext,
    private readonly publishWith: (client: pg.ClientBase, envelopes: readonly Envelope[]) => Promise<void>,
    /** Dead letters older than this many ms are deleted by {@link PostgresDeadLetters.sweep}; `Infinity` keeps them. */
    readonly retention: number = DEFAULT_DEAD_LETTER_RETENTION_MS,
  ) {
    this.moveStatement = prepared(sql.deadLetterJob(ctx.s));
    this.sweepStatement = prepared(sql.sweepDeadLetters(ctx.s));
  }

  /**
   * Moves a delivery to the dead letters. When the database refuses the entry as it is (U+0000 or
   * a lone surrogate in its text, a task id too long for the index, meta JSON cannot carry), a
   * sanitized dead letter is stored instead: a clean stand-in envelope, the database's error, and
   * the original entry as base64 in meta `original`. A dead letter is never lost to its content.
   */
  async write(receipt: PostgresReceipt, reason: string, meta: Record<string, unknown>, envelope: Envelope): Promise<void> {
    let refused: unknown;
    try {
      const values = [receipt.id, receipt.lease, reason, JSON.stringify(meta), JSON.stringify(envelope), null];
      await retryTransient(() => this.ctx.pool.query(this.moveStatement(values)));
      return;
    } catch (error) {
      if (!isDataError(error) && !(error instanceof TypeError) && !(error instanceof RangeError)) throw error;
      refused = error;
    }
    const taskId = storableText(typeof envelope?.id === 'string' && envelope.id !== '' ? envelope.id : 'unknown', ENVELOPE_LIMITS.maxIdLength);
    const queue = storableText(typeof envelope?.queue === 'string' && envelope.queue !== '' ? envelope.queue : 'unknown', ENVELOPE_LIMITS.maxQueueLength);
    let original: string;
    try {
      original = Buffer.from(JSON.stringify({ envelope, meta }) ?? 'null', 'utf8').toString('base64');
    } catch (error) {
      original = Buffer.from(`not serializable: ${(error as Error).message}`, 'utf8').toString('base64');
    }
    const error = meta?.error as { type?: unknown; message?: unknown } | string | undefined;
    const message = typeof error === 'string' ? error : typeof error?.message === 'string' ? error.message : undefined;
    const type = typeof error === 'object' && typeof error?.type === 'string' ? error.type : 'Error';
    const sanitizedMeta = {
      ...(message !== undefined ? { error: { type: storableText(type, 256), message: storableText(message, 10_000), retryable: false } } : {}),
      notStorable: storableText((refused as Error)?.message ?? String(refused), 1_000),
      original: original.slice(0, MAX_ORIGINAL_BASE64),
      ...(original.length > MAX_ORIGINAL_BASE64 ? { originalTruncated: true } : {}),
    };
    const stand = { ...malformedPlaceholder(envelope, { id: taskId, queue }), id: taskId };
    const values = [receipt.id, receipt.lease, storableText(reason, 1_000), JSON.stringify(sanitizedMeta), JSON.stringify(stand), taskId];
    this.ctx.logger.warn(`Dead letter of task ${taskId} on queue "${queue}" was refused by the database; stored a sanitized copy`, refused);
    await retryTransient(() => this.ctx.pool.query(this.moveStatement(values)));
  }

  /** Deletes dead letters of every queue older than the retention; returns how many. */
  async sweep(): Promise<number> {
    if (!Number.isFinite(this.retention)) return 0;
    let total = 0;
    for (;;) {
      const { rowCount } = await this.ctx.pool.query(this.sweepStatement([this.retention, SWEEP_BATCH]));
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < SWEEP_BATCH) return total;
    }
  }

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
    const params = [queue, options.since ?? null, options.limit ?? 50, options.ids ?? null, options.reason ?? null];
    if (options.dryRun) {
      const { rows } = await this.ctx.pool.query<EntryRow>(sql.selectDeadLettersForReplay(this.ctx.s, false), params);
      return { entries: rows.map(toEntry), dryRun: true };
    }
    return withTransaction(this.ctx.pool, async (client) => {
      const { rows } = await client.query<EntryRow>(sql.selectDeadLettersForReplay(this.ctx.s, true), params);
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
    const params = [queue, options.since ?? null, options.limit ?? null, options.ids ?? null, options.reason ?? null];
    const { rowCount } = await this.ctx.pool.query(sql.purgeDeadLetters(this.ctx.s), params);
    return rowCount ?? 0;
  }
}

function toEntry(row: EntryRow): DeadLetterEntry {
  const decoded = decodeEnvelope(row.envelope);
  const envelope: Envelope = decoded.ok
    ? decoded.envelope
    : { id: row.task_id, name: 'unknown', args: null, headers: {}, queue: row.queue, priority: 0, attempt: 0, enqueuedAt: Math.round(row.dead_ms), meta: {} };
  // NOTE: rounded down: dead_at has microseconds, and `since: entry.deadAt` must select the entry itself.
  return { envelope, reason: row.reason, meta: row.meta ?? {}, deadAt: Math.floor(row.dead_ms) };
}
