import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basicAuthGuard } from '../../dashboard/basic-auth.guard.js';
import { createDashboardHandler } from '../../dashboard/dashboard-handler.js';
import { type CliContext, parseCount, UsageError } from '../cli-context.js';

/** Flags of `stem dashboard`. */
export interface DashboardFlags {
  readonly port?: string;
  readonly host?: string;
  readonly 'read-only'?: boolean;
}

/**
 * `stem dashboard`: serves the web dashboard on the stores of `--broker` until SIGINT or SIGTERM
 * (or until `stop` aborts). With `STEM_DASHBOARD_USER` and `STEM_DASHBOARD_PASSWORD` it asks for
 * them (HTTP basic authentication); without, it answers only loopback requests.
 */
export async function dashboardCommand(ctx: CliContext, flags: DashboardFlags, env: NodeJS.ProcessEnv, stop?: AbortSignal): Promise<number> {
  const port = parseCount('port', flags.port, 3080);
  const host = flags.host ?? '127.0.0.1';
  const user = env.STEM_DASHBOARD_USER;
  const password = env.STEM_DASHBOARD_PASSWORD;
  if (Boolean(user) !== Boolean(password)) {
    throw new UsageError(
      `${user ? 'STEM_DASHBOARD_PASSWORD' : 'STEM_DASHBOARD_USER'} is not set: set both STEM_DASHBOARD_USER and STEM_DASHBOARD_PASSWORD for basic authentication, or neither for a loopback-only dashboard`,
    );
  }
  const stores = await ctx.stores();
  const handler = createDashboardHandler(
    {
      broker: stores.broker,
      backend: stores.backend,
      controlStore: stores.revokeStore,
      scheduleStore: stores.scheduleStore,
      workflowStore: stores.workflowStore,
      groupStore: stores.groupStore,
      producer: await ctx.producer(),
    },
    { readOnly: flags['read-only'] ?? false, ...(user && password ? { guards: [basicAuthGuard(user, password)] } : {}) },
  );
  const server = createServer((req, res) => void handler(req, res));
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  ctx.io.out(
    `Stem dashboard on http://${shown}:${address.port}/${flags['read-only'] ? ' (read-only)' : ''}${user && password ? ' (basic authentication)' : ' (loopback requests only)'}`,
  );
  await new Promise<void>((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      stop?.removeEventListener('abort', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (stop?.aborted) done();
    else stop?.addEventListener('abort', done, { once: true });
  });
  handler.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  return 0;
}
