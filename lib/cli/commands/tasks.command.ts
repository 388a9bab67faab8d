import type { TaskState } from '../../core/envelope.js';
import { type CliContext, iso, parseCount, UsageError } from '../cli-context.js';

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
  const page = await (await ctx.backend()).listStatuses({
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

/** `stem queues <q...>`: ready, in-flight and dead-letter counts. */
export async function queuesCommand(ctx: CliContext, queues: readonly string[]): Promise<number> {
  if (queues.length === 0) throw new UsageError('stem queues needs one or more queue names');
  const broker = await ctx.broker();
  const rows: { queue: string; pending: number; inflight: number; deadLetters: string }[] = [];
  for (const queue of queues) {
    const [pending, inflight] = await Promise.all([broker.pendingCount(queue), broker.inflightCount(queue)]);
    let deadLetters = 0;
    let offset: number | undefined = 0;
    while (offset !== undefined && deadLetters < DEAD_LETTER_COUNT_CAP) {
      const page: { items: readonly unknown[]; nextOffset?: number } = await broker.listDeadLetters(queue, { limit: 1_000, offset });
      deadLetters += page.items.length;
      offset = page.nextOffset;
    }
    rows.push({ queue, pending, inflight, deadLetters: offset === undefined ? String(deadLetters) : `${deadLetters}+` });
  }
  ctx.print(rows, () => {
    for (const r of rows) ctx.io.out(`${r.queue}: ${r.pending} ready, ${r.inflight} in flight, dead letters: ${r.deadLetters}`);
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
  const result = { ok: true, broker: broker.name, backend: backend.name, ms: Date.now() - started };
  ctx.print(result, () => ctx.io.out(`ok: broker ${broker.name}, backend ${backend.name} answered in ${result.ms} ms`));
  return 0;
}
