import type pg from 'pg';
import type { QueuedPublish } from '../../core/contracts/queued-publish.js';
import type { Envelope } from '../../core/envelope.js';
import { BatchItemFailure, MicroBatcher } from './postgres.batcher.js';
import { isNotSentError, type PostgresContext, retryTransient } from './postgres.connection.js';
import { jobInsertParams } from './postgres.envelope-codec.js';
import { prepared } from './postgres.statements.js';
import { encodeStatusWrite, isRowError, type SetOp, upsertParams } from './postgres.status-write.js';
import type { PostgresStatusTarget } from './postgres.status-target.js';
import { withTransaction } from './postgres.transaction.js';
import { publishQueued } from './sql/publish-queued.sql.js';

/** Envelopes per statement; a larger batch runs its statements in one transaction. */
const CHUNK = 5_000;
/** Concurrent one-by-one enqueues coalesced into one statement. */
const COALESCE = 500;

interface Item {
  readonly envelope: Envelope;
  readonly status: SetOp;
}

/**
 * Inserts jobs with their `queued` statuses in one statement (`sql/publish-queued.sql.ts`): one
 * round trip for one enqueue (concurrent ones coalesce into one statement) and one statement for
 * a batch of up to 5,000.
 */
export class PostgresQueuedPublisher implements QueuedPublish {
  private readonly statement: (values: unknown[]) => pg.QueryConfig;
  private readonly singles: MicroBatcher<Item>;

  constructor(
    private readonly jobs: PostgresContext,
    private readonly target: PostgresStatusTarget,
    private readonly assertOpen: () => void,
  ) {
    this.statement = prepared(publishQueued(jobs.s, jobs.channels.jobs, target.ctx.s, target.ctx.channels.results));
    this.singles = new MicroBatcher((items) => this.runSingles(items), { maxBatch: COALESCE, maxConcurrent: 2, keyOf: (item) => item.envelope.id });
  }

  async publish(envelopes: readonly Envelope[], ttl: number | undefined): Promise<void> {
    this.assertOpen();
    // NOTE: every status is encoded before anything is sent, so a status that cannot be stored
    // fails its publish while nothing is stored.
    const items = envelopes.map((e) => ({
      envelope: e,
      status: encodeStatusWrite(
        e.id,
        { state: 'queued', attempt: 0, name: e.name, queue: e.queue, meta: e.meta, args: e.args },
        ttl ?? this.target.defaultTtl,
        { unlessTerminal: true },
        this.target.argsLimit,
      ),
    }));
    if (items.length === 1) return this.singles.add(items[0]!);
    if (items.length <= CHUNK) return this.run(this.jobs.pool, items);
    // NOTE: one transaction for every chunk: the batch is stored whole or not at all.
    await withTransaction(this.jobs.pool, async (client) => {
      for (let i = 0; i < items.length; i += CHUNK) await this.run(client, items.slice(i, i + CHUNK));
    });
  }

  private async run(client: pg.ClientBase | pg.Pool, items: readonly Item[]): Promise<void> {
    // NOTE: an upsert cannot touch one row twice; for a repeated id the last status wins, as in call order.
    const last = new Map<string, SetOp>();
    for (const item of items) last.set(item.envelope.id, item.status);
    const statuses = last.size === items.length ? items.map((i) => i.status) : [...last.values()];
    await client.query(this.statement([...upsertParams(statuses), ...jobInsertParams(items.map((i) => i.envelope))]));
  }

  /**
   * One statement for the coalesced one-by-one enqueues; when the database refuses it for the
   * values of a row, each is sent on its own so only the one at fault fails.
   */
  private async runSingles(items: Item[]): Promise<(void | BatchItemFailure)[]> {
    try {
      await retryTransient(() => this.run(this.jobs.pool, items), 10_000, isNotSentError);
      return [];
    } catch (error) {
      if (items.length === 1 || !isRowError(error)) throw error;
    }
    const settled = await Promise.allSettled(items.map((item) => retryTransient(() => this.run(this.jobs.pool, [item]), 10_000, isNotSentError)));
    return settled.map((r) => (r.status === 'fulfilled' ? undefined : new BatchItemFailure(r.reason)));
  }
}
