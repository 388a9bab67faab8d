import 'reflect-metadata';
import { type INestApplication, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import type { StemAdapters } from '../../lib/adapters/stem-adapters.factory.js';
import { StemDashboardModule, type StemDashboardModuleOptions } from '../../lib/dashboard/index.js';
import { StemClient, StemModule, type StemModuleOptions, Task, type TaskContext } from '../../lib/index.js';
import { STEM_ADAPTERS } from '../../lib/nest/stem.constants.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';

/** Where Debian installs Chromium. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Whether the browser tests can run: Chromium is installed. Without it they are skipped with a
 * message, except under CI=true, where a missing browser is an error.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `Chromium is not installed at ${CHROMIUM}; install it with "apt-get install -y chromium" to run the dashboard's browser tests.`;
  if (process.env.CI === 'true') throw new Error(`${message} Browser tests must not be skipped under CI=true.`);
  console.warn(`Skipping the dashboard browser tests: ${message}`);
  return false;
}

/** One headless Chromium with a fresh profile, no downloads, no network beyond the test's servers. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'stem-dash-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1360, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Lets the blocking task finish. */
let release: () => void = () => undefined;
let released = new Promise<void>((resolve) => (release = resolve));
/** Ends every `dash.block` task that is running. */
export function releaseBlocked(): void {
  release();
  released = new Promise<void>((resolve) => (release = resolve));
}

/** The queues of one test app: `work` and `pausable` are consumed, `idle` is not. */
export interface DashQueues {
  readonly work: string;
  readonly pausable: string;
  readonly idle: string;
}

/** Tasks that end in each state. */
function tasksFor(q: DashQueues) {
  @Injectable()
  class DashTasks {
    @Task({ name: 'dash.ok', queue: q.work })
    ok(args: { orderId: string }): { charged: string } {
      return { charged: args.orderId };
    }

    @Task({ name: 'dash.fail', queue: q.work, maxRetries: 0 })
    fail(_args: { orderId: string }): never {
      throw new TypeError('card declined by the test gateway');
    }

    @Task({ name: 'dash.flaky', queue: q.work, maxRetries: 0 })
    flaky(_args: unknown, ctx: TaskContext): string {
      if (ctx.attempt === 0) throw new Error('first attempt fails');
      return `ok on attempt ${ctx.attempt}`;
    }

    @Task({ name: 'dash.retry', queue: q.work, maxRetries: 3, retryPolicy: { backoff: 600_000, backoffMax: 600_000, jitter: false } })
    retry(): never {
      throw new Error('try again later');
    }

    @Task({ name: 'dash.block', queue: q.work })
    async block(_args: unknown, ctx: TaskContext): Promise<string> {
      await Promise.race([released, new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))]);
      return 'released';
    }

    @Task({ name: 'dash.pausable', queue: q.pausable })
    pausable(): string {
      return 'ran';
    }

    @Task({ name: 'dash.idle', queue: q.idle })
    idle(): string {
      return 'never runs here';
    }
  }
  return DashTasks;
}

/** A Nest app with Stem on `stores` and the dashboard at /stem, listening on every interface. */
export async function bootDashboardApp(
  platform: 'express' | 'fastify',
  stores: Pick<StemModuleOptions, 'broker' | 'backend'>,
  queues: DashQueues,
  options: { worker: boolean; dashboard?: StemDashboardModuleOptions },
): Promise<{ app: INestApplication; url: string; client: StemClient; adapters: StemAdapters; workerId: string }> {
  const workerId = uniqueName('dash-worker');
  @Module({
    imports: [
      StemModule.forRoot({
        ...stores,
        worker: options.worker ? { id: workerId, queues: [queues.work, queues.pausable], concurrency: 4, heartbeatInterval: 300, closeAppOnShutdown: false } : false,
      }),
      StemDashboardModule.forRoot({ path: '/stem', liveInterval: 500, ...options.dashboard }),
    ],
    providers: [tasksFor(queues)],
  })
  class AppModule {}
  // NOTE: Chromium opens spare connections that never carry a request; without forceCloseConnections the server waits for them on close.
  const app =
    platform === 'express'
      ? await NestFactory.create(AppModule, { logger: false, forceCloseConnections: true })
      : await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter({ forceCloseConnections: true }), { logger: false });
  await app.listen(0, '0.0.0.0');
  const port = (app.getHttpServer().address() as { port: number }).port;
  return { app, url: `http://127.0.0.1:${port}`, client: app.get(StemClient), adapters: app.get<StemAdapters>(STEM_ADAPTERS, { strict: false }), workerId };
}

/** Resolves once `check` holds, polling every 50 ms; throws after `ms`. */
export async function until(check: () => Promise<boolean> | boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
