import { createServer, type Server } from 'node:http';
import { createDashboardHandler, type DashboardHandler } from '../../lib/dashboard/index.js';

/** A dashboard served on a free loopback port, with a session cookie and CSRF token read from `firstPage`. */
export interface ServedDashboard {
  readonly url: string;
  readonly handler: DashboardHandler;
  /** The session cookie (`name=value`), for requests that must carry it. */
  readonly cookie: string;
  /** Posts an action as JSON, the way a script would. */
  act(action: string, body: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** Serves `createDashboardHandler(...args)` over HTTP and opens a session on `firstPage` (a path). */
export async function serveDashboard(firstPage: string, ...args: Parameters<typeof createDashboardHandler>): Promise<ServedDashboard> {
  const handler: DashboardHandler = createDashboardHandler(...args);
  const server: Server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const page = await fetch(`${url}${firstPage}`);
  const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
  const token = /name="stem-csrf" content="([^"]+)"/.exec(await page.text())![1]!;
  return {
    url,
    handler,
    cookie,
    async act(action, body) {
      const res = await fetch(`${url}/actions/${action}`, {
        method: 'POST',
        headers: { cookie, 'x-stem-csrf': token, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    },
    async close() {
      handler.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
