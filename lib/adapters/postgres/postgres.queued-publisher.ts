import type pg from 'pg';
import type { QueuedPublish } from '../../core/contracts/queued-publish.js';
import type { Envelope } from '../../core/envelope.js';
import { type BatchItemFailure, MicroBatcher } from './postgres.batcher.js';
import type { PostgresContext } from './postgres.connection.js';
import { setOrEach } from './postgres.set-or-each.js';
import { prepared } from './postgres.statements.js';
import { encodeQueuedEnvelope, isRowError, type QueuedEnvelope } from './postgres.status-write.js';
import type { PostgresStatusTarget } from './postgres.status-target.js';
import { withTransaction } from './postgres.transaction.js';
import { publishQueued } from './sql/publish-queued.sql.js';

/** Envelopes per statement; a larger batch runs its statements in one transaction. */
const CHUNK = 5_000;
/** Concurrent one-by-one enqueues coalesced into one statement. */
const COALESCE = 500;

/**
 * Inserts jobs with their `queued` statuses in one statement (`sql/publish-queued.sql.ts`): one
 * round trip for one enqueue (concurrent ones coalesce into one statement) and one statement for
 * a batch of up to 5,000. The envelopes go out as one JSON array, and the statement reads the
 * job and status columns from it, so each value is sent once.
 */
export class PostgresQueuedPublisher implements QueuedPublish {
  private readonly statement: (values: unknown[]) => pg.QueryConfig;
  private readonly singles: MicroBatcher<QueuedEnvelope>;

  constructor(
    private readonly jobs: PostgresContext,
    private readonly target: PostgresStatusTarget,
    private readonly assertOpen: () => void,
  ) {
    this.statement = prepared(publishQueued(jobs.s, jobs.channels.jobs, target.ctx.s, target.ctx.channels.results));
    this.singles = new MicroBatcher((items) => this.runSingles(items), { maxBatch: COALESCE, maxConcurrent: 2, keyOf: (item) => item.id });
  }

  async publish(envelopes: readonly Envelope[], ttl: number | undefined): Promise<void> {
    this.assertOpen();
    // NOTE: every status is encoded before anything is sent, so a status that cannot be stored
    // fails its publish while nothing is stored.
    const items = envelopes.map((e) => encodeQueuedEnvelope(e, ttl ?? this.target.defaultTtl, this.target.argsLimit));
    if (items.length === 1) return this.singles.add(items[0]!);
    if (items.length <= CHUNK) return this.run(this.jobs.pool, items);
    // NOTE: one transaction for every chunk: the batch is stored whole or not at all.
    await withTransaction(this.jobs.pool, async (client) => {
      for (let i = 0; i < items.length; i += CHUNK) await this.run(client, items.slice(i, i + CHUNK));
    });
  }

  private async run(client: pg.ClientBase | pg.Pool, items: readonly QueuedEnvelope[]): Promise<void> {
    await client.query(this.statement(queuedParams(items, this.target.argsLimit > 0)));
  }

  /**
   * One statement for the coalesced one-by-one enqueues; when the database refuses it for the
   * values of a row, each is sent on its own so only the one at fault fails.
   */
  private runSingles(items: QueuedEnvelope[]): Promise<(void | BatchItemFailure)[]> {
    return setOrEach<QueuedEnvelope, void>(items, {
      together: async () => {
        await this.run(this.jobs.pool, items);
        return [];
      },
      one: (item) => this.run(this.jobs.pool, [item]),
      fallBackOn: isRowError,
      concurrent: true,
    });
  }
}

/** Parameters $1..$7 of `publishQueued` for `items`, in call order. */
function queuedParams(items: readonly QueuedEnvelope[], recordArgs: boolean): unknown[] {
  const ttl = items[0]!.ttl;
  let ttls: number[] | null = null;
  let truncated: (number | null)[] | null = null;
  let fields: (string | null)[] | null = null;
  // NOTE: an upsert cannot touch one row twice; for a repeated id the last status wins, as in call order.
  const superseded: number[] = [];
  const last = new Map<string, number>();
  const json: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    json.push(item.json);
    if (item.ttl !== ttl) ttls ??= items.map((x) => x.ttl);
    if (item.argsTruncated !== null) truncated ??= items.map((x) => x.argsTruncated);
    if (item.fields !== null) fields ??= items.map((x) => x.fields);
    const earlier = last.get(item.id);
    if (earlier !== undefined) superseded.push(earlier + 1);
    last.set(item.id, i);
  }
  return [`[${json.join(',')}]`, ttl, ttls, truncated, recordArgs, superseded, fields];
}
