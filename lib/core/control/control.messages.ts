import type { ShutdownMode } from '../worker/worker.options.js';

/** The commands a worker answers on the control channel. */
export type ControlCommandType = 'ping' | 'stats' | 'inspect' | 'revoke' | 'pause' | 'resume' | 'shutdown' | 'set-concurrency' | 'rate-limit';

/** The payload each command carries. */
export interface ControlPayloads {
  ping: Record<string, never>;
  stats: Record<string, never>;
  inspect: Record<string, never>;
  /** The revocations are read from the store; the ids only say what to look for. */
  revoke: { readonly taskIds: readonly string[] };
  pause: { readonly queue: string };
  resume: { readonly queue: string };
  shutdown: { readonly mode: ShutdownMode };
  'set-concurrency': { readonly concurrency: number };
  'rate-limit': { readonly task: string; readonly limit: string | null };
}

/** A command sent to every worker or to named ones. */
export interface ControlRequest<T extends ControlCommandType = ControlCommandType> {
  readonly requestId: string;
  readonly type: T;
  readonly payload: ControlPayloads[T];
  /** Worker ids that should act on it; absent means every worker. */
  readonly targets?: readonly string[];
  /** Epoch ms when it was sent. */
  readonly sentAt: number;
}

/** One worker's answer to a {@link ControlRequest}. */
export interface ControlReply<P = unknown> {
  readonly requestId: string;
  readonly workerId: string;
  readonly ok: boolean;
  readonly payload?: P;
  /** What went wrong when `ok` is false. */
  readonly error?: { readonly type: string; readonly message: string };
}

/** Options of a request on the control channel. */
export interface ControlRequestOptions {
  /** Only these workers act and reply. @default every worker */
  readonly workers?: readonly string[];
  /** How long to collect replies, in ms. @default 1000 */
  readonly timeout?: number;
  /** Stop collecting as soon as this many replies came (with `workers`, their count). */
  readonly expect?: number;
}
