import { CanvasMeta } from '../canvas/canvas.constants.js';
import { type Envelope, StemHeaders, StemMeta } from '../envelope.js';

/** Attribute names of the OpenTelemetry messaging semantic conventions that Stem's spans carry. */
export const MessagingAttributes = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destinationName: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  consumerGroupName: 'messaging.consumer.group.name',
  clientId: 'messaging.client.id',
  errorType: 'error.type',
} as const;

/** Stem's own span attributes. None of them ever holds task args or results. */
export const StemSpanAttributes = {
  taskName: 'stem.task.name',
  taskAttempt: 'stem.task.attempt',
  /** The state the attempt left the task in: `succeeded`, `retried`, `failed`, `queued` (put back at shutdown). */
  taskState: 'stem.task.state',
  parentTaskId: 'stem.task.parent_id',
  rootTaskId: 'stem.task.root_id',
  groupId: 'stem.group.id',
  chordId: 'stem.chord.id',
  chainId: 'stem.chain.id',
  scheduleId: 'stem.schedule.id',
  /** On a `send` span: the enqueue was a duplicate of a unique task and published nothing. */
  deduplicated: 'stem.task.deduplicated',
  /** On a `send` span: a dead letter replayed (its original trace is linked). */
  replayed: 'stem.task.replayed',
  workflowName: 'stem.workflow.name',
  workflowRunId: 'stem.workflow.run_id',
  workflowStep: 'stem.workflow.step',
} as const;

/** The value of `messaging.system` on every Stem span. */
export const MESSAGING_SYSTEM = 'stem';

/** Ids of the tasks, group, chord, chain and schedule an envelope belongs to, as span attributes. */
export function lineageAttributes(envelope: Envelope, into: Record<string, string | number | boolean>): void {
  const meta = envelope.meta;
  const parent = meta[StemMeta.parentTaskId];
  if (typeof parent === 'string') into[StemSpanAttributes.parentTaskId] = parent;
  const root = meta[StemMeta.rootTaskId];
  if (typeof root === 'string') into[StemSpanAttributes.rootTaskId] = root;
  const headers = envelope.headers;
  const group = headers[StemHeaders.groupId];
  if (group !== undefined) into[StemSpanAttributes.groupId] = group;
  const chord = headers[StemHeaders.chordId];
  if (chord !== undefined) into[StemSpanAttributes.chordId] = chord;
  const schedule = headers[StemHeaders.scheduleId];
  if (schedule !== undefined) into[StemSpanAttributes.scheduleId] = schedule;
  const chain = meta[CanvasMeta.chain] as { id?: unknown } | undefined;
  if (typeof chain?.id === 'string') into[StemSpanAttributes.chainId] = chain.id;
}
