import type { RedisConnection } from './redis.connection.js';

type Handler = (message: string) => void;

/**
 * One subscriber connection shared by every channel of an adapter instance. `subscribe` resolves
 * once Redis confirmed the SUBSCRIBE, so no later PUBLISH can be missed; ioredis re-subscribes by
 * itself after a reconnect, including one forced by the connection's health check (a PING
 * unanswered for `deadConnectionTimeout`, reported to `onError`).
 */
export class RedisSubscriber {
  private connection: Promise<RedisConnection> | undefined;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly confirmed = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(private readonly open: () => Promise<RedisConnection>) {}

  /** Calls `handler` with every message on `channel`; the returned function unsubscribes. */
  async subscribe(channel: string, handler: Handler): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('Redis subscriber is closed');
    const connection = await this.connect();
    let set = this.handlers.get(channel);
    const first = !set;
    if (!set) this.handlers.set(channel, (set = new Set()));
    const wrapped: Handler = (message) => handler(message);
    set.add(wrapped);
    if (first) this.confirmed.set(channel, connection.client.subscribe(channel));
    try {
      await this.confirmed.get(channel);
    } catch (error) {
      set.delete(wrapped);
      if (set.size === 0 && this.handlers.get(channel) === set) {
        this.handlers.delete(channel);
        this.confirmed.delete(channel);
      }
      throw error;
    }
    return async () => {
      if (!set.delete(wrapped) || set.size > 0 || this.handlers.get(channel) !== set) return;
      this.handlers.delete(channel);
      this.confirmed.delete(channel);
      if (!this.closed) await connection.client.unsubscribe(channel).catch(() => undefined);
    };
  }

  /** Closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    const connection = await this.connection?.catch(() => undefined);
    connection?.disconnect();
  }

  private connect(): Promise<RedisConnection> {
    this.connection ??= this.open().then((connection) => {
      connection.role = 'subscriber';
      connection.client.on('message', (channel: string, message: string) => {
        for (const handler of [...(this.handlers.get(channel) ?? [])]) {
          try {
            handler(message);
          } catch {
            // NOTE: a throwing listener must not stop delivery to the others.
          }
        }
      });
      return connection;
    });
    this.connection.catch(() => {
      this.connection = undefined;
    });
    return this.connection;
  }
}
