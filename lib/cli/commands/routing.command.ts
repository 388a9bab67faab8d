import { ROUTING_CONFIG_ENV } from '../../core/routing/routing-source.js';
import { type RouteDecision, RoutingTable } from '../../core/routing/routing-table.js';
import { type CliContext, UsageError } from '../cli-context.js';
import { table } from '../table.js';

/** Options of `stem routing dump`. */
export interface RoutingCommandValues {
  readonly config?: string;
  readonly task?: string;
  readonly headers?: readonly string[];
  readonly queue?: string;
  readonly priority?: string;
}

function parseHeaders(pairs: readonly string[] = []): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--headers "${pair}" is not k=v; pass --headers tier=vip (repeat for more)`);
    headers[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return headers;
}

function describeDecision(task: string, decision: RouteDecision): string {
  const why = decision.route ? `route "${decision.route.label}"` : { call: '--queue', task: 'the task queue (--queue)', default: 'the default queue', route: '' }[decision.reason];
  if (decision.type === 'broadcast') return `${task} -> broadcast ${decision.channel}, priority ${decision.priority} (${why}; every worker subscribed to it runs the task once)`;
  const range = decision.priorityRange;
  return `${task} -> queue ${decision.queue}, priority ${decision.priority} (range ${range.min}-${range.max}; ${why})`;
}

/**
 * `stem routing dump [--config src] [--json] [--task name [--headers k=v]... [--queue q] [--priority n]]`:
 * the resolved routing table (`--config`, else `STEM_ROUTING_CONFIG`), and where a sample task
 * would go. Needs no broker.
 */
export async function routingCommand(ctx: CliContext, action: string | undefined, values: RoutingCommandValues, env: NodeJS.ProcessEnv): Promise<number> {
  if (action !== 'dump') throw new UsageError(`routing takes "dump", got ${action === undefined ? 'nothing' : `"${action}"`}`);
  const source = values.config ?? env[ROUTING_CONFIG_ENV];
  const origin = values.config !== undefined ? '--config' : ROUTING_CONFIG_ENV;
  const configured = source !== undefined && source.trim() !== '';
  const routing = configured ? RoutingTable.from(source, origin) : new RoutingTable({});
  const description = routing.describe();
  let decision: RouteDecision | undefined;
  if (values.task) {
    const priority = values.priority === undefined ? undefined : Number(values.priority);
    if (priority !== undefined && (!Number.isInteger(priority) || priority < 0 || priority > 9))
      throw new UsageError(`--priority must be an integer from 0 to 9, got "${values.priority}"`);
    decision = routing.resolve({
      task: values.task,
      headers: parseHeaders(values.headers),
      ...(values.queue !== undefined ? { queue: values.queue } : {}),
      ...(priority !== undefined ? { priority } : {}),
    });
  } else if (values.headers?.length || values.priority !== undefined) {
    throw new UsageError('--headers and --priority describe a sample task; pass --task <name> too');
  }
  ctx.print({ source: configured ? origin : null, ...description, ...(decision ? { decision } : {}) }, () => {
    const io = ctx.io;
    io.out(configured ? `Routing from ${origin}` : `No routing config (${ROUTING_CONFIG_ENV} unset): tasks go to their call's queue, their @Task queue, else "default"`);
    const d = description.defaultQueue;
    io.out(`Default queue: ${d.queue} (alias ${d.alias}${d.fallbacks.length ? `; workers of it also consume ${d.fallbacks.join(', ')}` : ''})`);
    const aliases = Object.entries(description.aliases);
    if (aliases.length) io.out(`Aliases: ${aliases.map(([from, to]) => `${from} -> ${to}`).join(', ')}`);
    const queues = Object.entries(description.queues);
    if (queues.length)
      for (const line of table(
        ['QUEUE', 'PRIORITIES'],
        queues.map(([q, r]) => [q, `${r.min}-${r.max}`]),
      ))
        io.out(line);
    if (description.broadcasts.length) io.out(`Broadcast channels: ${description.broadcasts.join(', ')}`);
    if (description.routes.length) {
      const rows = description.routes.map((r, i) => [
        String(i + 1),
        r.label,
        [
          r.match.task ? `task ${r.match.task.join('|')}` : '',
          r.match.headers
            ? `headers ${Object.entries(r.match.headers)
                .map(([k, v]) => `${k}=${v}`)
                .join(',')}`
            : '',
          r.match.queue ? `queue ${r.match.queue}` : '',
        ]
          .filter(Boolean)
          .join(' ') || '(any task)',
        `${r.target.type} ${r.target.name}`,
        r.priorityOverride === undefined ? '-' : String(r.priorityOverride),
      ]);
      for (const line of table(['#', 'ROUTE', 'MATCH', 'TARGET', 'PRIORITY'], rows)) io.out(line);
    } else io.out('No routes.');
    if (decision && values.task) io.out(describeDecision(values.task, decision));
  });
  return 0;
}
