import type { ControlCommandType, ControlPayloads, ControlReply, ControlRequest, ControlRequestOptions } from './control.messages.js';

/** Answers one command; a throw becomes an error reply. */
export type ControlHandler = (request: ControlRequest) => Promise<unknown> | unknown;

/** A live subscription of a worker to the control channel. */
export interface ControlSubscription {
  close(): Promise<void>;
}

/**
 * Carries control commands to workers and their replies back. Every adapter with a broadcast
 * channel gets one ({@link BroadcastControlChannel}).
 *
 * Rules (checked by `runControlChannelContractTests`):
 * - a command without targets reaches every listening worker, each on its own connection;
 * - a command with targets reaches only those workers;
 * - each worker replies once; `request` resolves with the replies that came within the timeout.
 */
export interface ControlChannel {
  /** Sends a command and collects replies until the timeout (or `expect` replies). */
  request<T extends ControlCommandType>(type: T, payload: ControlPayloads[T], options?: ControlRequestOptions): Promise<ControlReply[]>;
  /** Listens as worker `workerId`: `handler` answers every command addressed to it. */
  listen(workerId: string, handler: ControlHandler): Promise<ControlSubscription>;
}
