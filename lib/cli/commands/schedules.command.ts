import { StemScheduler } from '../../core/beat/stem-scheduler.js';
import type { ScheduleEntry } from '../../core/contracts/schedule-store.js';
import { type CliContext, iso, parseCount, UsageError } from '../cli-context.js';

/** The entry as the CLI shows it: a disabled entry has no next run, whatever the store keeps. */
function shown(entry: ScheduleEntry): ScheduleEntry {
  return entry.enabled ? entry : { ...entry, nextRunAt: null };
}

/** `stem schedules list|show|enable|disable|remove|preview`: manage Beat entries. */
export async function schedulesCommand(ctx: CliContext, action: string | undefined, flags: { id?: string; count?: string; yes?: boolean }): Promise<number> {
  const scheduler = new StemScheduler({ store: await ctx.scheduleStore() });
  const needId = () => {
    if (!flags.id) throw new UsageError(`stem schedules ${action} needs --id <schedule id>`);
    return flags.id;
  };
  switch (action ?? 'list') {
    case 'list': {
      const entries = (await scheduler.list()).map(shown);
      ctx.print(entries, () => {
        if (entries.length === 0) ctx.io.out('No schedules.');
        for (const e of entries) {
          ctx.io.out(
            `${e.id}  ${e.task}  ${e.spec.kind}  ${e.enabled ? 'enabled' : 'disabled'}  next ${iso(e.nextRunAt)}  last ${iso(e.lastRunAt)}  runs ${e.runCount}${e.lastError ? `  last error: ${e.lastError}` : ''}`,
          );
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
      ctx.print(shown(entry), () => ctx.io.out(JSON.stringify(shown(entry), null, 2)));
      return 0;
    }
    case 'enable':
    case 'disable': {
      const entry = shown(action === 'enable' ? await scheduler.enable(needId()) : await scheduler.disable(needId()));
      ctx.print(entry, () => ctx.io.out(entry.enabled ? `${entry.id} enabled; next run ${iso(entry.nextRunAt)}` : `${entry.id} disabled; it does not run until enabled again`));
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
