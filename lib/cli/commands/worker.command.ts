import type { ControlReply } from '../../core/control/control.messages.js';
import type { InspectReply, StatsReply } from '../../core/control/control.replies.js';
import type { ShutdownMode } from '../../core/worker/worker.options.js';
import { type CliContext, iso, parseCount, UsageError } from '../cli-context.js';

/** Exit code when a command that needs replies got none (EX_UNAVAILABLE). */
export const EXIT_NO_REPLY = 69;

/** Flags of `stem worker ...`. */
export interface WorkerFlags {
  readonly worker?: string[];
  readonly timeout?: string;
  readonly terminate?: boolean;
  readonly reason?: string;
  readonly 'expires-in'?: string;
  readonly mode?: string;
}

const MODES: readonly ShutdownMode[] = ['warm', 'soft', 'hard'];

/** `stem worker ls|ping|stats|inspect|revoke|pause|resume|shutdown`. */
export async function workerCommand(ctx: CliContext, action: string | undefined, args: readonly string[], flags: WorkerFlags): Promise<number> {
  const request = { ...(flags.worker?.length ? { workers: flags.worker } : {}), timeout: parseCount('timeout', flags.timeout, 1_000) };
  switch (action) {
    case 'ls':
      return list(ctx);
    case 'ping':
    case 'stats':
    case 'inspect': {
      const control = await ctx.control();
      const replies: readonly ControlReply[] = await control[action](request);
      return report(ctx, replies, flags.worker, (reply) => human(ctx, action, reply));
    }
    case 'shutdown': {
      const mode = (flags.mode ?? 'warm') as ShutdownMode;
      if (!MODES.includes(mode)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}`);
      const replies = await (await ctx.control()).shutdown({ ...request, mode });
      return report(ctx, replies, flags.worker, (r) => ctx.io.out(`${r.workerId}: shutting down (${mode})`));
    }
    case 'revoke': {
      if (args.length === 0) throw new UsageError('stem worker revoke needs at least one task id');
      const expiresIn = flags['expires-in'] === undefined ? undefined : parseDuration(flags['expires-in']);
      const result = await (
        await ctx.control()
      ).revoke(args, { ...request, terminate: flags.terminate ?? false, ...(flags.reason ? { reason: flags.reason } : {}), ...(expiresIn ? { expiresIn } : {}) });
      ctx.print(result, () => {
        ctx.io.out(`Revoked ${args.length} task(s)${flags.terminate ? ' with terminate' : ''}: persisted ${result.persisted}.`);
        if (result.replies.length === 0) ctx.io.out('No worker replied; the revoke is stored and applies when workers start or re-sync.');
        for (const r of result.replies) {
          const terminated = r.payload?.terminated ?? [];
          ctx.io.out(r.ok ? `${r.workerId}: applied${terminated.length ? `, terminated ${terminated.join(' ')}` : ''}` : `${r.workerId}: error ${r.error?.message}`);
        }
      });
      return result.replies.some((r) => !r.ok) ? 1 : 0;
    }
    case 'pause':
    case 'resume': {
      const queue = args[0];
      if (!queue) throw new UsageError(`stem worker ${action} needs a queue name`);
      const result = await (await ctx.control())[action](queue, request);
      ctx.print(result, () => {
        ctx.io.out(`${action === 'pause' ? 'Paused' : 'Resumed'} queue ${queue}${result.persisted ? '' : ' (a newer change was already stored)'}.`);
        if (result.replies.length === 0) ctx.io.out('No worker replied; the change is stored and applies when workers start or re-sync.');
        for (const r of result.replies) ctx.io.out(r.ok ? `${r.workerId}: applied` : `${r.workerId}: error ${r.error?.message}`);
      });
      return result.replies.some((r) => !r.ok) ? 1 : 0;
    }
    default:
      throw new UsageError(action ? `unknown worker command "${action}"` : 'stem worker needs a command: ls, ping, stats, inspect, revoke, pause, resume or shutdown');
  }
}

async function list(ctx: CliContext): Promise<number> {
  const workers = await (await ctx.control()).listWorkers();
  ctx.print(workers, () => {
    if (workers.length === 0) ctx.io.out('No live workers (no heartbeat within the last 3 intervals).');
    for (const w of workers) {
      const paused = w.pausedQueues.length ? ` (paused: ${w.pausedQueues.join(', ')})` : '';
      ctx.io.out(`${w.workerId}  ${w.host}:${w.pid}  queues ${w.queues.join(',')}${paused}  active ${w.active}/${w.concurrency}  seen ${iso(w.sentAt)}`);
    }
  });
  return 0;
}

function report<R>(ctx: CliContext, replies: readonly ControlReply<R>[], targets: readonly string[] | undefined, line: (reply: ControlReply<R>) => void): number {
  const missing = (targets ?? []).filter((id) => !replies.some((r) => r.workerId === id));
  ctx.print(replies, () => {
    for (const r of replies) {
      if (r.ok) line(r);
      else ctx.io.out(`${r.workerId}: error ${r.error?.type}: ${r.error?.message}`);
    }
  });
  for (const id of missing) ctx.io.err(`No reply from ${id}.`);
  if (replies.length === 0) {
    ctx.io.err('No worker replied within the timeout (are workers running against this broker? try a longer --timeout).');
    return EXIT_NO_REPLY;
  }
  return replies.some((r) => !r.ok) || missing.length > 0 ? 1 : 0;
}

function human(ctx: CliContext, action: 'ping' | 'stats' | 'inspect', reply: ControlReply): void {
  if (action === 'ping') return ctx.io.out(`${reply.workerId}: pong`);
  if (action === 'stats') {
    const s = reply.payload as StatsReply;
    ctx.io.out(
      `${reply.workerId}: ${s.host}:${s.pid} v${s.version} up ${Math.round(s.uptime / 1000)}s  queues ${s.consumedQueues.join(',') || '-'}${s.pausedQueues.length ? ` paused ${s.pausedQueues.join(',')}` : ''}  active ${s.active}/${s.concurrency} prefetch ${s.prefetch}  succeeded ${s.succeeded} failed ${s.failed} retried ${s.retried} cancelled ${s.cancelled}  rss ${Math.round(s.memory / 1_048_576)} MB`,
    );
    return;
  }
  const i = reply.payload as InspectReply;
  ctx.io.out(
    `${reply.workerId}: ${i.activeTotal} active, ${i.prefetchedTotal} prefetched, ${i.revokedTotal} revoked${i.pausedQueues.length ? `, paused ${i.pausedQueues.join(',')}` : ''}`,
  );
  for (const t of i.active) ctx.io.out(`  active     ${t.id}  ${t.name}  attempt ${t.attempt}  running ${t.runtimeMs} ms since ${iso(t.startedAt)}`);
  for (const t of i.prefetched) ctx.io.out(`  prefetched ${t.id}  ${t.name}  attempt ${t.attempt}`);
}

/** `90s`, `15m`, `2h`, `7d`, or plain ms. */
function parseDuration(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value);
  if (!m || Number(m[1]) <= 0) throw new UsageError(`--expires-in "${value}" is not a duration; use e.g. 3600000, 90s, 15m, 2h or 7d`);
  return Number(m[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
}
