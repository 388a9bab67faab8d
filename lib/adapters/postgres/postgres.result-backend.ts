import type pg from 'pg';
import type {
  ResultBackend,
  SetStatusOptions,
  StatusWatch,
  TaskStatusListRequest,
  TaskStatusPage,
  TaskStatusTouch,
  TaskStatusUpdate,
} from '../../core/contracts/result-backend.js';
import type { TaskStatus } from '../../core/envelope.js';
import { StatusNotStorableError } from '../../core/errors/status-not-storable.error.js';
import { StemError } from '../../core/errors/stem.error.js';
import { BatchItemFailure, MicroBatcher } from './postgres.batcher.js';
import { openPostgres, type PostgresContext, type PostgresTarget, retryTransient } from './postgres.connection.js';
import type { PostgresConnectOptions } from './postgres.options.js';
import { prepared } from './postgres.statements.js';
import { registerStatusTarget } from './postgres.status-target.js';
import { type StatusRow, statusFromRow } from './postgres.status-row.js';
import { appendStatusMeta } from './sql/results-append.sql.js';
import { StatusGroup, StatusSetWriter } from './postgres.status-set-writer.js';
import { encodeStatusWrite, guardKey, isRowError, type SetOp, upsertParams } from './postgres.status-write.js';
import * as sql from './sql/results.sql.js';
import type { ResultBackendIntrospection, TaskSearchRequest, TaskStatusWithArgs, ThroughputBucket, ThroughputRequest } from '../../core/contracts/introspection.js';
import type { TaskState } from '../../core/envelope.js';
import { ArgsSearchUnsupportedError } from '../../core/errors/args-search-unsupported.error.js';
import { type RecordArgsOption, recordedArgsLimit } from '../../core/utils/recorded-args.js';
import { PostgresStatusQueries } from './postgres.status-queries.js';

/** Options of {@link PostgresResultBackend.connect}. */
export interface PostgresResultBackendOptions extends PostgresConnectOptions {
  /** TTL of statuses written without one, ms. @default 86400000 (1 day) */
  readonly defaultTtl?: number;
  /** How often expired statuses are deleted, ms (0 disables the sweeper). @default 60000 */
  readonly cleanupInterval?: number;
  /**
   * Record each task's arguments with its `queued` status (shown by `getWithArgs`, searchable with
   * `argsContain`, which is refused when off). Turning it off saves every enqueue a JSON column and
   * a GIN index entry. @default true (up to 4096 bytes of JSON)
   */
  readonly recordArgs?: RecordArgsOption;
}

type WriteOp = SetOp | { readonly kind: 'touch'; readonly id: string; readonly touch: TaskStatusTouch };

interface Watcher {
  readonly listener: (status: TaskStatus) => void;
  lastUpdated: number;
}

const WRITE_BATCH = 500;
const CLEANUP_BATCH = 5_000;

/**
 * A {@link ResultBackend} on Postgres: one row per task id with an expiry. Concurrent writes are
 * sent as one upsert statement (writes to one task id stay in call order), and a write to a
 * watched task NOTIFYs the new status, so `watch`
 * (and `waitForTask`) sees writes from any process without polling. Expired rows are invisible at
 * once and deleted by a periodic sweep.
 *
 * @example
 * const backend = await PostgresResultBackend.connect(process.env.DATABASE_URL!);
 */
export class PostgresResultBackend implements ResultBackend, ResultBackendIntrospection {
  readonly name = 'postgres';
  private readonly writer: MicroBatcher<WriteOp>;
  private readonly watchers = new Map<string, Set<Watcher>>();
  /** Per watched id: its registration in `result_watches` (or the removal of it) in flight. */
  private readonly registrations = new Map<string, Promise<void>>();
  private listening: Promise<() => void> | undefined;
  private readonly removeReconnectHook: () => void;
  private readonly cleanupTimer: NodeJS.Timeout | undefined;
  private readonly statements: {
    touch: (values: unknown[]) => pg.QueryConfig;
    addWatches: (values: unknown[]) => pg.QueryConfig;
    get: (values: unknown[]) => pg.QueryConfig;
  };
  private closing: Promise<void> | undefined;
  private readonly queries: PostgresStatusQueries;
  private readonly sets: StatusSetWriter;

  private constructor(
    private readonly ctx: PostgresContext,
    private readonly defaultTtl: number,
    cleanupInterval: number,
    private readonly argsLimit: number,
  ) {
    this.queries = new PostgresStatusQueries(ctx);
    this.sets = new StatusSetWriter(ctx, this.name);
    const { s, channels } = ctx;
    this.statements = {
      addWatches: prepared(sql.addWatches(s)),
      touch: prepared(sql.touchStatus(s, channels.results)),
      get: prepared(sql.getStatus(s)),
    };
    this.writer = new MicroBatcher((ops) => this.write(ops), { maxBatch: WRITE_BATCH, maxConcurrent: 3, keyOf: (op) => op.id });
    registerStatusTarget(this, {
      ctx,
      defaultTtl,
      argsLimit,
      setAndAck: async (id, update, options, ack) => {
        this.assertOpen();
        await this.writer.add({ ...encodeStatusWrite(id, update, options.ttl ?? this.defaultTtl, options, this.argsLimit), ...(ack ? { ack } : {}) });
      },
    });
    this.removeReconnectHook = ctx.notifier.onReconnect(() => {
      this.catchUp().catch((error: unknown) => ctx.logger.warn('Re-registering watches after a reconnect failed', error));
    });
    if (cleanupInterval > 0) {
      this.cleanupTimer = setInterval(() => {
        this.cleanup().catch((error: unknown) => ctx.logger.warn('Deleting expired statuses failed', error));
      }, cleanupInterval);
      this.cleanupTimer.unref();
    }
  }

  /**
   * Connects to `target` (a URL or your own `pg.Pool`), running pending migrations first.
   *
   * @throws PostgresConnectionError when the server cannot be reached
   */
  static async connect(target: PostgresTarget, options: PostgresResultBackendOptions = {}): Promise<PostgresResultBackend> {
    const ctx = await openPostgres(target, options);
    return new PostgresResultBackend(ctx, options.defaultTtl ?? 86_400_000, options.cleanupInterval ?? 60_000, recordedArgsLimit(options.recordArgs));
  }

  async set(id: string, update: TaskStatusUpdate, options: SetStatusOptions = {}): Promise<void> {
    this.assertOpen();
    await this.writer.add(encodeStatusWrite(id, update, options.ttl ?? this.defaultTtl, options, this.argsLimit));
  }

  /**
   * Writes a status inside the caller's transaction on `client`, e.g. the `queued` status next to
   * {@link PostgresBroker.publishWith}: both appear on COMMIT, neither after a ROLLBACK.
   */
  async setWith(client: pg.ClientBase, id: string, update: TaskStatusUpdate, options: SetStatusOptions = {}): Promise<void> {
    const statement = this.sets.upsert(guardKey(options));
    const op = encodeStatusWrite(id, update, options.ttl ?? this.defaultTtl, options, this.argsLimit);
    try {
      await client.query(statement(upsertParams([op])));
    } catch (error) {
      throw isRowError(error) ? new StatusNotStorableError(id, this.name, error) : error;
    }
  }

  async touch(id: string, touch: TaskStatusTouch): Promise<void> {
    this.assertOpen();
    await this.writer.add({ kind: 'touch', id, touch });
  }

  async get(id: string): Promise<TaskStatus | null> {
    const { rows } = await this.ctx.pool.query<StatusRow>(this.statements.get([id]));
    return rows[0] ? statusFromRow(rows[0]) : null;
  }

  async watch(id: string, listener: (status: TaskStatus) => void): Promise<StatusWatch> {
    this.assertOpen();
    let set = this.watchers.get(id);
    const fresh = !set;
    if (!set) this.watchers.set(id, (set = new Set()));
    const watcher: Watcher = { listener, lastUpdated: 0 };
    set.add(watcher);
    const close = async () => {
      set.delete(watcher);
      if (set.size > 0 || this.watchers.get(id) !== set) return;
      this.watchers.delete(id);
      const pid = this.ctx.notifier.backendPid;
      const previous = this.registrations.get(id) ?? Promise.resolve();
      const removal = previous
        .then(() => (pid === undefined ? undefined : this.ctx.pool.query(sql.removeWatch(this.ctx.s), [id, pid])))
        .then(
          () => undefined,
          () => undefined,
        );
      this.registrations.set(id, removal);
      void removal.finally(() => {
        if (this.registrations.get(id) === removal) this.registrations.delete(id);
      });
    };
    try {
      this.listening ??= this.ctx.notifier.listen(this.ctx.channels.results, (payload) => this.onNotification(payload));
      await this.listening;
      if (fresh) {
        const previous = this.registrations.get(id) ?? Promise.resolve();
        const registration = previous.then(() => this.register([id]));
        this.registrations.set(
          id,
          registration.catch(() => undefined),
        );
        await registration;
      } else {
        await this.registrations.get(id);
      }
    } catch (error) {
      this.listening = undefined;
      await close();
      throw error;
    }
    return { close };
  }

  /** Statuses newest first, on the listing indexes of migration 0008. */
  listStatuses(request: TaskStatusListRequest = {}): Promise<TaskStatusPage> {
    return this.queries.searchStatuses(request);
  }

  /** Live statuses per state, from the counters the `results` triggers keep (expired ones count until swept). */
  countByState(queue?: string): Promise<Record<TaskState, number>> {
    return this.queries.countByState(queue);
  }

  throughput(request: ThroughputRequest): Promise<ThroughputBucket[]> {
    return this.queries.throughput(request);
  }

  /** Filters, id prefix (`LIKE`) and argument containment (`args @> ...`, GIN-indexed). */
  /** @throws ArgsSearchUnsupportedError for `argsContain` when `recordArgs` is off (nothing to search) */
  async searchStatuses(request: TaskSearchRequest): Promise<TaskStatusPage> {
    if (request.argsContain !== undefined && this.argsLimit === 0) throw new ArgsSearchUnsupportedError(this.name, 'not-recorded');
    return this.queries.searchStatuses(request);
  }

  getWithArgs(id: string): Promise<TaskStatusWithArgs | null> {
    return this.queries.getWithArgs(id);
  }

  async expire(id: string, ttl: number): Promise<void> {
    await this.writer.drain();
    await retryTransient(() => this.ctx.pool.query(sql.expireStatus(this.ctx.s), [id, Math.max(0, ttl)]));
  }

  /**
   * Deletes expired statuses, and watches of processes that are gone, now (the sweeper calls this
   * periodically); returns how many statuses were deleted.
   */
  async cleanup(): Promise<number> {
    await this.ctx.pool.query(sql.deleteOrphanWatches(this.ctx.s));
    let total = 0;
    for (;;) {
      const { rowCount } = await this.ctx.pool.query(sql.deleteExpiredStatuses(this.ctx.s), [CLEANUP_BATCH]);
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < CLEANUP_BATCH) break;
    }
    await this.queries.compact();
    return total;
  }

  /** Stops watches and the sweeper, waits for pending writes, releases the pool. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.cleanupTimer);
      this.removeReconnectHook();
      const pid = this.ctx.notifier.backendPid;
      const watched = [...this.watchers.keys()];
      this.watchers.clear();
      await this.writer.drain();
      await Promise.allSettled([...this.registrations.values()]);
      if (pid !== undefined && watched.length > 0) {
        await this.ctx.pool.query(sql.removeWatches(this.ctx.s), [pid, watched]).catch(() => undefined);
      }
      const stop = await this.listening?.catch(() => undefined);
      stop?.();
      await this.ctx.release();
    })();
    return this.closing;
  }

  /**
   * Runs queued writes in order: consecutive `set`s on distinct ids (and of one kind) share one
   * statement ({@link StatusSetWriter}, which also folds acks into it). When the database refuses a
   * shared statement for the values of a row, its rows are written one by one, so only the row at
   * fault fails (with a {@link StatusNotStorableError}). A lost connection (after the transient
   * retries) fails the whole batch.
   */
  private async write(ops: WriteOp[]): Promise<(void | BatchItemFailure)[]> {
    const results: (void | BatchItemFailure)[] = new Array<void | BatchItemFailure>(ops.length);
    const group = new StatusGroup();
    const flush = async () => {
      const { ops: items, indexes } = group.take();
      if (items.length === 0) return;
      const written = await this.sets.write(items);
      written.forEach((own, i) => own.forEach((result, k) => (results[indexes[i]![k]!] = result)));
    };
    for (const [index, op] of ops.entries()) {
      if (op.kind === 'set') {
        if (!group.accepts(op)) await flush();
        group.add(op, index);
        continue;
      }
      await flush();
      const { progress, heartbeatAt, meta } = op.touch;
      try {
        await retryTransient(() =>
          this.ctx.pool.query(this.statements.touch([op.id, progress ? JSON.stringify(progress) : null, heartbeatAt ?? null, meta ? JSON.stringify(meta) : null])),
        );
      } catch (error) {
        if (!isRowError(error) && !(error instanceof TypeError)) throw error;
        results[index] = new BatchItemFailure(error);
      }
    }
    await flush();
    return results;
  }

  private onNotification(payload: string): void {
    if (this.watchers.size === 0) return;
    for (const line of payload.split('\n')) {
      const tab = line.indexOf('\t');
      const id = tab < 0 ? line : line.slice(0, tab);
      if (!this.watchers.has(id)) continue;
      const json = tab < 0 ? '' : line.slice(tab + 1);
      if (json) this.deliver(id, statusFromRow(JSON.parse(json) as StatusRow));
      else void this.refresh(id);
    }
  }

  private deliver(id: string, status: TaskStatus): void {
    for (const watcher of [...(this.watchers.get(id) ?? [])]) {
      if (status.updatedAt < watcher.lastUpdated) continue;
      watcher.lastUpdated = status.updatedAt;
      try {
        watcher.listener(status);
      } catch (error) {
        this.ctx.logger.warn(`A watcher of task ${id} threw`, error);
      }
    }
  }

  private async refresh(id: string, onlyNewer = false): Promise<void> {
    const status = await this.get(id).catch(() => null);
    if (!status) return;
    if (onlyNewer) {
      for (const watcher of this.watchers.get(id) ?? []) if (status.updatedAt > watcher.lastUpdated) return this.deliver(id, status);
      return;
    }
    this.deliver(id, status);
  }

  /**
   * Records `ids` as watched by this process's LISTEN connection, so writes to them NOTIFY, then
   * waits out writes that were in flight meanwhile (a read afterwards sees them).
   */
  private async register(ids: string[]): Promise<void> {
    const pid = this.ctx.notifier.backendPid;
    if (pid === undefined || ids.length === 0) return;
    await retryTransient(() => this.ctx.pool.query(this.statements.addWatches([ids, pid])));
    if (ids.length === 1) await retryTransient(() => this.ctx.pool.query(sql.awaitInflightWrite(this.ctx.s), ids));
  }

  /**
   * After the LISTEN connection came back (with a new pid): register the watches again, then
   * report statuses written while it was down.
   */
  private async catchUp(): Promise<void> {
    await this.register([...this.watchers.keys()]);
    for (const id of [...this.watchers.keys()]) await this.refresh(id, true);
  }

  private assertOpen(): void {
    if (this.closing) throw new StemError('STEM_CLOSED', 'PostgresResultBackend is closed');
  }

  /** Appends to a meta array in one `UPDATE` (`sql/results-append.sql.ts`), atomic across processes. */
  async appendMeta(id: string, key: string, values: readonly unknown[]): Promise<void> {
    this.assertOpen();
    if (values.length === 0) return;
    // NOTE: not batched with `set`/`touch`: those merge meta on the server (`meta || ...`), so an
    // append that overtakes a queued write of the same id is kept either way.
    await this.ctx.pool.query(appendStatusMeta(this.ctx.s, this.ctx.channels.results), [id, key, JSON.stringify(values)]);
  }
}
