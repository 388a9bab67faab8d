import type { BrokerBroadcast } from '../contracts/broker.js';
import { type Clock, systemClock } from '../utils/clock.js';
import { uuidv7 } from '../utils/uuid.js';
import type { ControlChannel, ControlHandler, ControlSubscription } from './control-channel.js';
import type { ControlCommandType, ControlPayloads, ControlReply, ControlRequest, ControlRequestOptions } from './control.messages.js';

/** Default time a request collects replies, in ms. */
export const DEFAULT_CONTROL_TIMEOUT_MS = 1_000;

/** Options of a {@link BroadcastControlChannel}. */
export interface BroadcastControlChannelOptions {
  /** Separates the control traffic of apps sharing one broker. @default 'stem' */
  readonly namespace?: string;
  /** @default systemClock */
  readonly clock?: Clock;
}

function isRequest(value: unknown): value is ControlRequest {
  const r = value as Partial<ControlRequest> | null;
  return typeof r === 'object' && r !== null && typeof r.requestId === 'string' && typeof r.type === 'string';
}

function isReply(value: unknown): value is ControlReply {
  const r = value as Partial<ControlReply> | null;
  return typeof r === 'object' && r !== null && typeof r.requestId === 'string' && typeof r.workerId === 'string';
}

/**
 * A {@link ControlChannel} on a broker's broadcast capability (memory, Redis pub/sub, Postgres
 * LISTEN/NOTIFY): commands go to one channel every worker subscribes to, each on its own
 * connection, so they truly fan out; each request gets its own reply channel, subscribed before
 * the command is sent.
 *
 * @example
 * const channel = new BroadcastControlChannel(broker);
 * const replies = await channel.request('ping', {}, { timeout: 500 });
 */
export class BroadcastControlChannel implements ControlChannel {
  private readonly namespace: string;
  private readonly clock: Clock;

  constructor(
    private readonly broker: BrokerBroadcast,
    options: BroadcastControlChannelOptions = {},
  ) {
    this.namespace = options.namespace ?? 'stem';
    this.clock = options.clock ?? systemClock;
  }

  private get commands(): string {
    return `${this.namespace}.control`;
  }

  private replies(requestId: string): string {
    return `${this.namespace}.control.reply.${requestId}`;
  }

  async request<T extends ControlCommandType>(type: T, payload: ControlPayloads[T], options: ControlRequestOptions = {}): Promise<ControlReply[]> {
    const requestId = uuidv7();
    const targets = options.workers?.length ? [...new Set(options.workers)] : undefined;
    const expect = options.expect ?? targets?.length ?? Infinity;
    const timeout = options.timeout ?? DEFAULT_CONTROL_TIMEOUT_MS;
    const replies = new Map<string, ControlReply>();
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const subscription = await this.broker.subscribeBroadcast(this.replies(requestId), (message) => {
      if (!isReply(message.payload) || message.payload.requestId !== requestId) return;
      if (targets && !targets.includes(message.payload.workerId)) return;
      if (!replies.has(message.payload.workerId)) replies.set(message.payload.workerId, message.payload);
      if (replies.size >= expect) finish();
    });
    const timer = this.clock.setTimeout(finish, timeout);
    try {
      const request: ControlRequest<T> = { requestId, type, payload, ...(targets ? { targets } : {}), sentAt: this.clock.now() };
      await this.broker.broadcast(this.commands, request);
      if (expect > 0) await done;
    } finally {
      timer.cancel();
      await subscription.close();
    }
    return [...replies.values()].sort((a, b) => a.workerId.localeCompare(b.workerId));
  }

  async listen(workerId: string, handler: ControlHandler): Promise<ControlSubscription> {
    const seen = new Set<string>();
    return this.broker.subscribeBroadcast(this.commands, (message) => {
      const request = message.payload;
      if (!isRequest(request) || (request.targets && !request.targets.includes(workerId))) return;
      // NOTE: a reconnecting subscriber may see a message twice; each command is answered once.
      if (seen.has(request.requestId)) return;
      seen.add(request.requestId);
      if (seen.size > 1_000) seen.delete(seen.values().next().value!);
      void this.answer(workerId, request, handler);
    });
  }

  private async answer(workerId: string, request: ControlRequest, handler: ControlHandler): Promise<void> {
    let reply: ControlReply;
    try {
      reply = { requestId: request.requestId, workerId, ok: true, payload: await handler(request) };
    } catch (error) {
      const e = error as Error;
      reply = { requestId: request.requestId, workerId, ok: false, error: { type: e?.name ?? 'Error', message: e?.message ?? String(error) } };
    }
    try {
      await this.broker.broadcast(this.replies(request.requestId), reply);
    } catch (error) {
      const e = error as Error;
      // NOTE: a reply too large for the channel (Postgres NOTIFY) is replaced by an error reply.
      await this.broker
        .broadcast(this.replies(request.requestId), {
          requestId: request.requestId,
          workerId,
          ok: false,
          error: { type: e?.name ?? 'Error', message: e?.message ?? String(error) },
        })
        .catch(() => undefined);
    }
  }
}
