import { brokerCapabilities, hasDeadLetterAdmin } from '../../core/contracts/broker.js';
import type { TaskState } from '../../core/envelope.js';
import { type CliContext, iso, parseCount, UsageError } from '../cli-context.js';
import { countDeadLetters } from './dlq.command.js';

const STATES: readonly TaskState[] = ['queued', 'running', 'succeeded', 'failed', 'retried', 'cancelled'];

/** `stem status <id>`: one task's status, result or error, progress. */
export async function statusCommand(ctx: CliContext, id: string | undefined): Promise<number> {
  if (!id) throw new UsageError('stem status needs a task id');
  const raw = await (await ctx.backend()).get(id);
  const status = raw ? (await ctx.producer()).decodeStatus(raw) : null;
  if (!status) {
    ctx.io.err(`No status for task ${id} (unknown, or its TTL passed).`);
    return 1;
  }
  ctx.print(status, () => {
    ctx.io.out(`${status.id}  ${status.name ?? '?'}  queue ${status.queue ?? '?'}`);
    ctx.io.out(`state ${status.state}, attempt ${status.attempt}, updated ${iso(status.updatedAt)}`);
    if (status.progress) ctx.io.out(`progress ${status.progress.percent}% ${status.progress.data === undefined ? '' : JSON.stringify(status.progress.data)}`);
    if (status.heartbeatAt) ctx.io.out(`last heartbeat ${iso(status.heartbeatAt)}`);
    if (status.error) ctx.io.out(`error ${status.error.type}: ${status.error.message}`);
    if (status.state === 'succeeded' && status.payload !== undefined) ctx.io.out(`result ${JSON.stringify(status.payload)}`);
  });
  return 0;
}

/** `stem tasks [--state s] [--queue q]`: recent statuses. */
export async function tasksCommand(ctx: CliContext, flags: { state?: string; queue?: string; name?: string; limit?: string; offset?: string }): Promise<number> {
  if (flags.state && !STATES.includes(flags.state as TaskState)) throw new UsageError(`--state must be one of ${STATES.join(', ')}`);
  const page = await (
    await ctx.backend()
  ).listStatuses({
    ...(flags.state ? { state: flags.state as TaskState } : {}),
    ...(flags.queue ? { queue: flags.queue } : {}),
    ...(flags.name ? { name: flags.name } : {}),
    limit: parseCount('limit', flags.limit, 20),
    offset: parseCount('offset', flags.offset, 0),
  });
  ctx.print(page, () => {
    if (page.items.length === 0) ctx.io.out('No tasks match.');
    for (const s of page.items) ctx.io.out(`${iso(s.updatedAt)}  ${s.id}  ${s.name ?? '?'}  ${s.queue ?? '?'}  ${s.state}  attempt ${s.attempt}`);
    if (page.nextOffset !== undefined) ctx.io.out(`More: --offset ${page.nextOffset}`);
  });
  return 0;
}

const DEAD_LETTER_COUNT_CAP = 10_000;

/** One row of `stem queues`. */
export interface QueueCounts {
  readonly queue: string;
  readonly pending: number;
  readonly inflight: number;
  /** Dead letters counted, or `null` when the broker cannot list dead letters. */
  readonly deadLetters: number | null;
  /** The count stopped at the cap; there are more. */
  readonly deadLettersCapped: boolean;
}

/** `stem queues <q...>`: ready, in-flight and dead-letter counts. */
export async function queuesCommand(ctx: CliContext, queues: readonly string[]): Promise<number> {
  if (queues.length === 0) throw new UsageError('stem queues needs one or more queue names');
  const broker = await ctx.broker();
  const rows: QueueCounts[] = [];
  for (const queue of queues) {
    const [pending, inflight] = await Promise.all([broker.pendingCount(queue), broker.inflightCount(queue)]);
    // NOTE: a broker without dead-letter admin still dead-letters; it just cannot list them here.
    const dead = hasDeadLetterAdmin(broker) ? await countDeadLetters(broker, queue, DEAD_LETTER_COUNT_CAP) : null;
    rows.push({ queue, pending, inflight, deadLetters: dead?.count ?? null, deadLettersCapped: dead?.capped ?? false });
  }
  ctx.print(rows, () => {
    for (const r of rows) {
      const dead = r.deadLetters === null ? `n/a (the ${broker.name} broker cannot list them)` : `${r.deadLetters}${r.deadLettersCapped ? '+' : ''}`;
      ctx.io.out(`${r.queue}: ${r.pending} ready, ${r.inflight} in flight, dead letters: ${dead}`);
    }
  });
  return 0;
}

/** `stem health`: can the broker and backend be reached. */
export async function healthCommand(ctx: CliContext): Promise<number> {
  const started = Date.now();
  const broker = await ctx.broker();
  await broker.pendingCount('__stem_health__');
  const backend = await ctx.backend();
  await backend.get('__stem_health__');
  const capabilities = brokerCapabilities(broker);
  const result = { ok: true, broker: broker.name, backend: backend.name, capabilities, ms: Date.now() - started };
  ctx.print(result, () => ctx.io.out(`ok: broker ${broker.name} (${capabilities.join(', ') || 'no optional capabilities'}), backend ${backend.name} answered in ${result.ms} ms`));
  return 0;
}
