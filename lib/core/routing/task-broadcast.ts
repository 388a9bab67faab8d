import type { Broker } from '../contracts/broker.js';
import type { Envelope } from '../envelope.js';

/** Meta keys of broadcast tasks. */
export const BroadcastMeta = {
  /** The broadcast channel the task was sent to. */
  channel: 'stem.broadcast',
  /** On a worker's copy: the id the producer returned (each worker's copy has its own id). */
  id: 'stem.broadcast.id',
} as const;

/** The broker broadcast channel that carries the tasks of routing channel `channel`. */
export function taskBroadcastChannel(channel: string): string {
  return `stem.tasks.${channel}`;
}

/** The queue a worker runs its copies of `channel`'s tasks from: its own, so every worker runs each once. */
export function broadcastQueue(channel: string, workerId: string): string {
  return `${channel}@${workerId}`;
}

/** The id of a worker's copy of a broadcast task. */
export function broadcastCopyId(id: string, workerId: string): string {
  return `${id}@${workerId}`;
}

/** The channel a routed envelope is broadcast on, or `undefined` for a queued one. */
export function broadcastChannelOf(envelope: Envelope): string | undefined {
  const channel = envelope.meta[BroadcastMeta.channel];
  return typeof channel === 'string' && envelope.meta[BroadcastMeta.id] === undefined ? channel : undefined;
}

/** What travels on a task broadcast channel. */
export interface TaskBroadcastMessage {
  readonly envelope: Envelope;
}

/** Broadcasts a routed envelope to every worker subscribed to its channel (no status is written: each worker's copy has its own). */
export async function publishBroadcast(broker: Broker, envelope: Envelope, channel: string): Promise<void> {
  if (!broker.broadcast) throw new Error(`the ${broker.name} broker has no broadcast channel`);
  const message: TaskBroadcastMessage = { envelope };
  await broker.broadcast(taskBroadcastChannel(channel), message);
}
