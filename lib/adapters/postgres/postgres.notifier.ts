import type pg from 'pg';
import { PostgresDeadConnectionError } from './errors/postgres-dead-connection.error.js';
import { POSTGRES_HEALTH_DEFAULTS, type PostgresLogger } from './postgres.options.js';
import { quoteIdent } from './postgres.identifiers.js';

/** Receives the payload of one NOTIFY. */
export type NotificationHandler = (payload: string) => void;

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2_000;

/** Health-check settings of a {@link PostgresNotifier}. */
export interface PostgresNotifierSettings {
  /** The server URL without password, for messages. */
  readonly url?: string;
  /** How often the connection runs `SELECT 1`, ms; `0` turns the check off. @default 5000 */
  readonly healthCheckInterval?: number;
  /** How long `SELECT 1` may go unanswered before the connection is replaced, ms. @default 10000 */
  readonly deadConnectionTimeout?: number;
}

/**
 * One dedicated LISTEN connection, shared by every adapter on a pool, multiplexing channels to
 * handlers. When the connection dies (`pg_terminate_backend`, a server restart) it reconnects with
 * backoff, listens again and calls the `onReconnect` hooks so callers can catch up on what they
 * may have missed. A connection that stops answering without closing (a half-open or black-holed
 * path) is found by a periodic `SELECT 1`: no answer within `deadConnectionTimeout` logs a
 * {@link PostgresDeadConnectionError} and replaces the connection the same way.
 */
export class PostgresNotifier {
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private readonly reconnectHooks = new Set<() => void>();
  private client: pg.PoolClient | undefined;
  /** Releases the current connection exactly once. */
  private dropClient: (() => void) | undefined;
  private connecting: Promise<pg.PoolClient> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pid: number | undefined;
  private backoff = RECONNECT_MIN_MS;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: PostgresLogger,
    private readonly settings: PostgresNotifierSettings = {},
  ) {}

  /**
   * Calls `handler` with each payload NOTIFYed on `channel`. Resolves once the LISTEN is active,
   * so no later notification can be missed; returns the function that stops listening.
   */
  async listen(channel: string, handler: NotificationHandler): Promise<() => void> {
    let set = this.handlers.get(channel);
    const fresh = !set;
    if (!set) this.handlers.set(channel, (set = new Set()));
    const wrapped: NotificationHandler = (payload) => handler(payload);
    set.add(wrapped);
    try {
      const client = await this.connection();
      if (fresh) await client.query(`LISTEN ${quoteIdent(channel)}`);
    } catch (error) {
      set.delete(wrapped);
      if (set.size === 0 && fresh) this.handlers.delete(channel);
      throw error;
    }
    return () => {
      set.delete(wrapped);
    };
  }

  /** Server pid of the current LISTEN connection (changes on reconnect), once connected. */
  get backendPid(): number | undefined {
    return this.client ? this.pid : undefined;
  }

  /** Registers a hook run after every reconnect; returns its remover. */
  onReconnect(hook: () => void): () => void {
    this.reconnectHooks.add(hook);
    return () => this.reconnectHooks.delete(hook);
  }

  /** Releases the LISTEN connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    await this.connecting?.catch(() => undefined);
    this.client = undefined;
    this.dropClient?.();
  }

  private connection(): Promise<pg.PoolClient> {
    if (this.closed) return Promise.reject(new Error('The Postgres notifier is closed'));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    let lost = false;
    const drop = (error?: Error) => {
      if (lost) return false;
      lost = true;
      if (this.client === client) this.client = undefined;
      if (this.dropClient === dropThis) this.dropClient = undefined;
      client.removeListener('notification', onNotification);
      client.release(error ?? true);
      return true;
    };
    const dropThis = () => void drop();
    this.dropClient = dropThis;
    const onLost = (error?: Error) => {
      if (!drop(error)) return;
      if (!this.closed) {
        this.logger.warn('LISTEN connection lost; reconnecting', error);
        this.scheduleReconnect();
      }
    };
    const onNotification = (message: pg.Notification) => {
      const set = this.handlers.get(message.channel);
      if (!set) return;
      for (const handler of [...set]) {
        try {
          handler(message.payload ?? '');
        } catch (error) {
          this.logger.warn(`A handler of channel ${message.channel} threw`, error);
        }
      }
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', onNotification);
    try {
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      this.pid = rows[0]!.pid;
    } catch (error) {
      onLost(error as Error);
      throw error;
    }
    if (this.closed) {
      drop();
      throw new Error('The Postgres notifier is closed');
    }
    this.client = client;
    client.once('end', this.healthCheck(client, onLost));
    return client;
  }

  /** Runs `SELECT 1` on `client` every interval; no answer in time calls `lost`. Returns its stopper. */
  private healthCheck(client: pg.PoolClient, lost: (error: Error) => void): () => void {
    const interval = this.settings.healthCheckInterval ?? POSTGRES_HEALTH_DEFAULTS.healthCheckInterval;
    const deadAfter = this.settings.deadConnectionTimeout ?? POSTGRES_HEALTH_DEFAULTS.deadConnectionTimeout;
    if (!(interval > 0)) return () => undefined;
    let checking = false;
    let stopped = false;
    const stop = () => {
      stopped = true;
      clearInterval(timer);
    };
    const timer = setInterval(() => {
      if (checking || stopped || this.closed) return;
      // NOTE: only the live LISTEN connection is checked; a dropped one is the pool's to dispose of.
      if (this.client !== client) return stop();
      checking = true;
      let timeout: NodeJS.Timeout | undefined;
      const overdue = new Promise<never>((_resolve, reject) => {
        timeout = setTimeout(() => reject(new Error(`SELECT 1 got no answer within ${deadAfter} ms`)), deadAfter);
      });
      Promise.race([client.query('SELECT 1'), overdue]).then(
        () => {
          clearTimeout(timeout);
          checking = false;
        },
        (error: unknown) => {
          clearTimeout(timeout);
          checking = false;
          stop();
          if (this.closed) return;
          const message = (error as Error)?.message ?? String(error);
          const reason = message.startsWith('SELECT 1') ? message : `SELECT 1 failed (${message})`;
          lost(new PostgresDeadConnectionError(this.settings.url ?? 'the server', 'LISTEN', reason, { cause: error }));
        },
      );
    }, interval);
    timer.unref();
    return stop;
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closed) return;
    const delay = this.backoff;
    this.backoff = Math.min(RECONNECT_MAX_MS, this.backoff * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closed || this.client) return;
      this.connection().then(
        () => {
          this.backoff = RECONNECT_MIN_MS;
          this.logger.info('LISTEN connection restored');
          for (const hook of [...this.reconnectHooks]) hook();
        },
        (error: unknown) => {
          this.logger.warn('Reconnecting the LISTEN connection failed; retrying', error);
          this.scheduleReconnect();
        },
      );
    }, delay);
  }
}
