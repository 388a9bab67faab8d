import { parseArgs } from 'node:util';
import { StemError } from '../core/errors/stem.error.js';
import { CliContext, type CliIo, UsageError } from './cli-context.js';
import { dashboardCommand } from './commands/dashboard.command.js';
import { dlqCommand } from './commands/dlq.command.js';
import { routingCommand } from './commands/routing.command.js';
import { schedulesCommand } from './commands/schedules.command.js';
import { wfCommand } from './commands/wf.command.js';
import { workerCommand } from './commands/worker.command.js';
import { healthCommand, queuesCommand, statusCommand, tasksCommand } from './commands/tasks.command.js';

/** The text `stem --help` prints. */
export const CLI_USAGE = `Usage: stem <command> [options]

Commands:
  health                                   check that the broker and backend answer
  status <task-id>                         a task's state, attempt, progress, result or error
  tasks [--state s] [--queue q] [--name n] [--limit n] [--offset n]
                                           recent task statuses, newest first
  queues <queue...>                        ready, in-flight and dead-letter counts
  dlq list --queue q [--limit n] [--offset n]
  dlq show --queue q --id <task-id>
  dlq replay --queue q [--limit n | --all] [--since 1h|ISO|ms] [--delay ms] (--dry-run | --yes)
  dlq purge --queue q [--since ...] [--limit n] --yes
  schedules [list|show|enable|disable|remove|preview] [--id id] [--count n] [--yes]
  wf start <workflow> [-p '{json}'] [--queue q] [--wait [--timeout 30s]]
  wf ls [--workflow w] [--status s] [--limit n] [--offset n]
  wf show <run-id>                         status, cursor, params, checkpoints, suspension, lease, error
  wf cancel <run-id> [--reason text]
  wf rewind <run-id> --step <name> [--dry-run]
  wf emit <topic> [-p '{json}']            resume every run waiting on the topic
  wf waiters [--topic t] [--limit n]       runs waiting on events, with deadline and age
  worker ls                                live workers, from their heartbeats
  worker ping|stats|inspect [-w id]... [--timeout ms]
                                           ask workers; exit 69 when none replied
  worker revoke <task-id...> [--terminate] [--reason text] [--expires-in 7d]
                                           stored first, so it holds for workers that are down
  worker pause|resume <queue>              stored; paused queues are not fetched from
  worker shutdown [-w id]... [--mode warm|soft|hard]
  routing dump [--config src] [--task name [--headers k=v]... [--queue q] [--priority n]]
                                           the routing table ($STEM_ROUTING_CONFIG), and where a task would go
  dashboard [--port 3080] [--host 127.0.0.1] [--read-only]
                                           the web dashboard; without STEM_DASHBOARD_USER and
                                           STEM_DASHBOARD_PASSWORD it answers only loopback requests

Options:
  --broker <url>    redis://, rediss:// or postgres:// (default: $STEM_BROKER_URL)
  --backend <url>   result backend (default: $STEM_RESULT_BACKEND_URL, else the broker's store)
  --json            machine-readable output
  workflow store: $STEM_WORKFLOW_STORE_URL, else the broker's store
  TLS (rediss://, postgres://...?sslmode=verify-full): $STEM_TLS_CA_CERT, $STEM_TLS_CLIENT_CERT,
                    $STEM_TLS_CLIENT_KEY (PEM file paths or PEM text), $STEM_TLS_ALLOW_INSECURE=true
  -h, --help        this text`;

const defaultIo: CliIo = { out: (line) => console.log(line), err: (line) => console.error(line) };

/**
 * Runs the `stem` command line and resolves with its exit code (0 ok, 1 not found/failed,
 * 2 usage error, 69 no worker replied). Never calls `process.exit`.
 *
 * @example
 * await runCli(['dlq', 'list', '--queue', 'emails', '--broker', 'redis://127.0.0.1:6379']);
 */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        broker: { type: 'string' },
        backend: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        queue: { type: 'string', short: 'q' },
        id: { type: 'string' },
        limit: { type: 'string', short: 'l' },
        offset: { type: 'string' },
        since: { type: 'string' },
        delay: { type: 'string' },
        all: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        state: { type: 'string' },
        name: { type: 'string' },
        count: { type: 'string' },
        payload: { type: 'string', short: 'p' },
        workflow: { type: 'string' },
        status: { type: 'string' },
        reason: { type: 'string' },
        step: { type: 'string' },
        topic: { type: 'string' },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
        worker: { type: 'string', short: 'w', multiple: true },
        terminate: { type: 'boolean' },
        'expires-in': { type: 'string' },
        mode: { type: 'string' },
        config: { type: 'string' },
        task: { type: 'string' },
        headers: { type: 'string', multiple: true },
        priority: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'read-only': { type: 'boolean' },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${CLI_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, action, ...rest] = positionals;
  if (values.help || !command) {
    io.out(CLI_USAGE);
    return values.help ? 0 : 2;
  }
  const ctx = new CliContext(
    io,
    {
      ...(values.broker ? { broker: values.broker } : {}),
      ...(values.backend ? { backend: values.backend } : {}),
      json: values.json ?? false,
      workflows: command === 'wf' || command === 'dashboard',
    },
    env,
  );
  try {
    switch (command) {
      case 'health':
        return await healthCommand(ctx);
      case 'status':
        return await statusCommand(ctx, action);
      case 'tasks':
        return await tasksCommand(ctx, values);
      case 'queues':
        return await queuesCommand(
          ctx,
          [action, ...rest].filter((q): q is string => Boolean(q)),
        );
      case 'dlq':
        return await dlqCommand(ctx, action, values);
      case 'schedules':
        return await schedulesCommand(ctx, action, values);
      case 'wf':
        return await wfCommand(ctx, action, rest, values);
      case 'worker':
        return await workerCommand(ctx, action, rest, values);
      case 'routing':
        return await routingCommand(ctx, action, values, env);
      case 'dashboard':
        return await dashboardCommand(ctx, values, env);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n\n${CLI_USAGE}`);
      return 2;
    }
    io.err(error instanceof StemError || error instanceof Error ? `error: ${error.message}` : `error: ${String(error)}`);
    return 1;
  } finally {
    await ctx.close().catch(() => undefined);
  }
}
