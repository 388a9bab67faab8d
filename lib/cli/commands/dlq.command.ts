import { type Broker, type DeadLetterAdmin, requireBrokerCapability } from '../../core/contracts/broker.js';
import { type CliContext, iso, parseCount, parseSince, UsageError } from '../cli-context.js';

/** Flags of `stem dlq`. */
export interface DlqFlags {
  queue?: string;
  id?: string;
  limit?: string;
  offset?: string;
  since?: string;
  delay?: string;
  all?: boolean;
  'dry-run'?: boolean;
  yes?: boolean;
}

const BATCH = 100;

/**
 * How many dead letters a queue holds now, counting at most about `cap` of them; `capped` says
 * the count stopped there.
 */
export async function countDeadLetters(broker: Broker & DeadLetterAdmin, queue: string, cap = Infinity): Promise<{ count: number; capped: boolean }> {
  let count = 0;
  let offset: number | undefined = 0;
  while (offset !== undefined && count < cap) {
    const page: { items: readonly unknown[]; nextOffset?: number } = await broker.listDeadLetters(queue, { limit: 1_000, offset });
    count += page.items.length;
    offset = page.nextOffset;
  }
  return { count, capped: offset !== undefined };
}

/** `stem dlq list|show|replay|purge`: inspect and recover dead letters. */
export async function dlqCommand(ctx: CliContext, action: string | undefined, flags: DlqFlags): Promise<number> {
  const queue = flags.queue;
  if (!queue) throw new UsageError('stem dlq needs --queue <name>');
  const broker = requireBrokerCapability(await ctx.broker(), 'dead-letter-admin', `use stem dlq on queue "${queue}"`);
  switch (action) {
    case 'list': {
      const page = await broker.listDeadLetters(queue, { limit: parseCount('limit', flags.limit, 20), offset: parseCount('offset', flags.offset, 0) });
      ctx.print(page, () => {
        if (page.items.length === 0) ctx.io.out(`No dead letters in "${queue}".`);
        for (const e of page.items) {
          const error = (e.meta.error as { message?: string } | undefined)?.message ?? '';
          ctx.io.out(`${iso(e.deadAt)}  ${e.envelope.id}  ${e.envelope.name}  attempt ${e.envelope.attempt}  ${e.reason}${error ? `: ${error}` : ''}`);
        }
        if (page.nextOffset !== undefined) ctx.io.out(`More: --offset ${page.nextOffset}`);
      });
      return 0;
    }
    case 'show': {
      if (!flags.id) throw new UsageError('stem dlq show needs --id <task id>');
      const entry = await broker.getDeadLetter(queue, flags.id);
      if (!entry) {
        ctx.io.err(`No dead letter ${flags.id} in "${queue}".`);
        return 1;
      }
      ctx.print(entry, () => ctx.io.out(JSON.stringify(entry, null, 2)));
      return 0;
    }
    case 'replay': {
      const since = parseSince(flags.since);
      const delay = parseCount('delay', flags.delay, 0);
      // NOTE: --all replays what is there now; tasks that fail again while we replay are not
      // picked up a second time, so the loop ends.
      const total = flags.all ? (await countDeadLetters(broker, queue)).count : parseCount('limit', flags.limit, 50);
      const producer = await ctx.producer();
      if (flags['dry-run']) {
        const dry = await producer.replayDeadLetters(queue, { limit: total, ...(since !== undefined ? { since } : {}), dryRun: true });
        ctx.print(dry, () => {
          ctx.io.out(`Would replay ${dry.entries.length} dead letter(s) from "${queue}":`);
          for (const e of dry.entries) ctx.io.out(`  ${e.envelope.id}  ${e.envelope.name}  ${e.reason}`);
        });
        return 0;
      }
      if (!flags.yes) throw new UsageError('stem dlq replay re-runs tasks; add --yes to confirm (or --dry-run to preview)');
      let replayed = 0;
      while (replayed < total) {
        const batch = await producer.replayDeadLetters(queue, { limit: Math.min(BATCH, total - replayed), ...(since !== undefined ? { since } : {}), ...(delay ? { delay } : {}) });
        if (batch.entries.length === 0) break;
        replayed += batch.entries.length;
        if (!ctx.options.json) ctx.io.err(`replayed ${replayed}/${total} ...`);
      }
      ctx.print({ queue, replayed }, () => ctx.io.out(`Replayed ${replayed} dead letter(s) from "${queue}"${delay ? ` with a ${delay} ms delay` : ''}.`));
      return 0;
    }
    case 'purge': {
      if (!flags.yes) throw new UsageError('stem dlq purge deletes dead letters for good; add --yes to confirm');
      const since = parseSince(flags.since);
      const limit = flags.limit === undefined ? undefined : parseCount('limit', flags.limit, 0);
      const purged = await broker.purgeDeadLetters(queue, { ...(since !== undefined ? { since } : {}), ...(limit !== undefined ? { limit } : {}) });
      ctx.print({ queue, purged }, () => ctx.io.out(`Purged ${purged} dead letter(s) from "${queue}".`));
      return 0;
    }
    default:
      throw new UsageError(`unknown dlq action "${action ?? ''}"; use list, show, replay or purge`);
  }
}
