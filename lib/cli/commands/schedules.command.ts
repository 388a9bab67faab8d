import { StemScheduler } from '../../core/beat/stem-scheduler.js';
import { type CliContext, iso, parseCount, UsageError } from '../cli-context.js';

/** `stem schedules list|show|enable|disable|remove|preview`: manage Beat entries. */
export async function schedulesCommand(ctx: CliContext, action: string | undefined, flags: { id?: string; count?: string; yes?: boolean }): Promise<number> {
  const scheduler = new StemScheduler({ store: await ctx.scheduleStore() });
  const needId = () => {
    if (!flags.id) throw new UsageError(`stem schedules ${action} needs --id <schedule id>`);
    return flags.id;
  };
  switch (action ?? 'list') {
    case 'list': {
      const entries = await scheduler.list();
      ctx.print(entries, () => {
        if (entries.length === 0) ctx.io.out('No schedules.');
        for (const e of entries) {
          ctx.io.out(`${e.id}  ${e.task}  ${e.spec.kind}  ${e.enabled ? 'enabled' : 'disabled'}  next ${iso(e.nextRunAt)}  last ${iso(e.lastRunAt)}  runs ${e.runCount}${e.lastError ? `  last error: ${e.lastError}` : ''}`);
        }
      });
      return 0;
    }
    case 'show': {
      const entry = await scheduler.get(needId());
      if (!entry) {
        ctx.io.err(`No schedule "${flags.id}".`);
        return 1;
      }
      ctx.print(entry, () => ctx.io.out(JSON.stringify(entry, null, 2)));
      return 0;
    }
    case 'enable':
    case 'disable': {
      const entry = action === 'enable' ? await scheduler.enable(needId()) : await scheduler.disable(needId());
      ctx.print(entry, () => ctx.io.out(`${entry.id} ${entry.enabled ? 'enabled' : 'disabled'}; next run ${iso(entry.nextRunAt)}`));
      return 0;
    }
    case 'remove': {
      const id = needId();
      if (!flags.yes) throw new UsageError('stem schedules remove deletes the entry; add --yes to confirm');
      const removed = await scheduler.remove(id);
      ctx.print({ id, removed }, () => ctx.io.out(removed ? `Removed ${id}.` : `No schedule "${id}".`));
      return removed ? 0 : 1;
    }
    case 'preview': {
      const runs = await scheduler.preview(needId(), parseCount('count', flags.count, 5));
      ctx.print(runs.map(iso), () => runs.forEach((r) => ctx.io.out(iso(r))));
      return 0;
    }
    default:
      throw new UsageError(`unknown schedules action "${action}"; use list, show, enable, disable, remove or preview`);
  }
}
