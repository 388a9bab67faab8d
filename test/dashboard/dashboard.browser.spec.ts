import { networkInterfaces } from 'node:os';
import type { INestApplication } from '@nestjs/common';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasResultBackendIntrospection } from '../../lib/core/contracts/introspection.js';
import type { StemClient } from '../../lib/index.js';
import { Schedules } from '../../lib/core/beat/schedule-spec.js';
import { StemScheduler } from '../../lib/core/beat/stem-scheduler.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { deleteKeys } from '../redis/redis-test-utils.js';
import { isolatedPostgresUrl, postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';
import type { StemAdapters } from '../../lib/adapters/stem-adapters.factory.js';
import { bootDashboardApp, chromiumAvailable, type DashQueues, launchBrowser, releaseBlocked, until } from './dashboard-app.js';

const withChromium = chromiumAvailable();
const outside = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
const screenshots = process.env.STEM_DASHBOARD_SCREENSHOTS === '1';

let browser: { context: BrowserContext; close: () => Promise<void> } | undefined;
beforeAll(async () => {
  if (withChromium) browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const redisPrefix = uniqueName('dash-ui');
const pg = isolatedPostgresUrl('stem_dash_ui');
const targets = [
  {
    name: 'Redis, on Express',
    platform: 'express' as const,
    available: await redisAvailable(),
    broker: `${REDIS_URL}?prefix=${redisPrefix}`,
    cleanup: () => deleteKeys(REDIS_URL, redisPrefix),
  },
  { name: 'Postgres, on Fastify', platform: 'fastify' as const, available: await postgresAvailable(), broker: pg.url, cleanup: pg.drop },
];

for (const target of targets) {
  describe.runIf(withChromium && target.available)(`dashboard in Chromium, ${target.name}`, () => {
    const queues: DashQueues = { work: uniqueName('dash-work'), pausable: uniqueName('dash-pause'), idle: uniqueName('dash-idle') };
    let app: INestApplication;
    let readOnlyApp: INestApplication;
    let url: string;
    let readOnlyUrl: string;
    let client: StemClient;
    let adapters: StemAdapters;
    let workerId: string;
    let page: Page;
    const ids: Record<string, string> = {};

    const status = async (id: string) => (await client.getTaskStatus(id))?.state;
    const stateIs = (id: string, state: string) => until(async () => (await status(id)) === state, `task ${id} to be ${state}`);

    beforeAll(async () => {
      ({ app, url, client, adapters, workerId } = await bootDashboardApp(target.platform, { broker: target.broker }, queues, { worker: true }));
      ({ app: readOnlyApp, url: readOnlyUrl } = await bootDashboardApp(target.platform, { broker: target.broker }, queues, { worker: false, dashboard: { readOnly: true } }));
      page = await browser!.context.newPage();
      page.setDefaultTimeout(5_000);
      page.on('dialog', (dialog) => void dialog.accept());
      ids.ok = await client.enqueue('dash.ok', { orderId: 'order-42' });
      ids.fail = await client.enqueue('dash.fail', { orderId: 'order-13' });
      ids.flaky = await client.enqueue('dash.flaky', { note: 'replay me' });
      ids.retry = await client.enqueue('dash.retry', {});
      ids.block = await client.enqueue('dash.block', {});
      ids.idle = await client.enqueue('dash.idle', {});
      ids.expired = await client.enqueue('dash.ok', { orderId: 'too-late' }, { delay: 300, expires: 100 });
      await client.waitForTask(ids.ok, { timeout: 15_000 });
      await stateIs(ids.fail, 'failed');
      await stateIs(ids.flaky, 'failed');
      await stateIs(ids.retry, 'retried');
      await stateIs(ids.block, 'running');
      await stateIs(ids.expired, 'cancelled');
      await new StemScheduler({ store: adapters.scheduleStore! }).add({
        id: uniqueName('nightly'),
        task: 'dash.ok',
        args: { orderId: 'nightly' },
        schedule: Schedules.every('1h'),
      });
      if (adapters.workflowStore) ids.run = (await adapters.workflowStore.createRun({ workflow: 'dash.checkout', params: { cart: 3 } })).id;
    }, 60_000);

    afterAll(async () => {
      releaseBlocked();
      await page?.close();
      await readOnlyApp?.close();
      await app?.close();
      await target.cleanup();
    }, 60_000);

    const open = async (path: string, base = url) => {
      const response = await page.goto(`${base}/stem${path}`);
      expect(response?.status()).toBe(200);
      return page;
    };
    const shot = async (name: string) => {
      if (screenshots && target.platform === 'fastify') await page.screenshot({ path: `docs/dashboard-${name}.png`, fullPage: true });
    };

    it('renders every page against real tasks in each state', async () => {
      await open('/');
      const row = page.locator(`[data-testid="queues"] tr[data-queue="${queues.work}"]`);
      await expect.poll(() => row.locator(`[data-stat="${queues.work}:deadLetters"]`).innerText()).toBe('3');
      expect(await page.locator('[data-testid="no-worker-warning"]').innerText()).toContain(queues.idle);
      expect(await page.locator('[data-stat="workers"]').innerText()).not.toBe('0');
      await page.locator('body.connected').waitFor();
      const idleReady = page.locator(`[data-stat="${queues.idle}:pending"]`);
      expect(await idleReady.innerText()).toBe('1');
      ids.idle2 = await client.enqueue('dash.idle', {});
      // NOTE: no reload: the count changes through the server-sent events.
      await expect.poll(() => idleReady.innerText(), { timeout: 10_000 }).toBe('2');
      await shot('overview');

      for (const [state, id] of [
        ['succeeded', ids.ok],
        ['failed', ids.fail],
        ['retried', ids.retry],
        ['running', ids.block],
        ['queued', ids.idle],
        ['cancelled', ids.expired],
      ] as const) {
        await open(`/tasks?state=${state}&queue=${state === 'queued' ? queues.idle : queues.work}`);
        expect(await page.locator('[data-testid="tasks"]').innerText(), `state ${state}`).toContain(id!);
      }
      await open(`/tasks?queue=${queues.work}`);
      await shot('tasks');
      await open(`/tasks?id=${ids.fail!.slice(0, 20)}`);
      expect(await page.locator('[data-testid="tasks"]').innerText()).toContain(ids.fail!);
      if (hasResultBackendIntrospection(adapters.backend!) && adapters.backend!.name === 'postgres') {
        await open(`/tasks?args=${encodeURIComponent('{"orderId":"order-13"}')}`);
        const found = await page.locator('[data-testid="tasks"]').innerText();
        expect(found).toContain(ids.fail!);
        expect(found).not.toContain(ids.ok!);
      }

      await open(`/tasks/${ids.ok}`);
      expect(await page.locator('[data-testid="result"]').innerText()).toContain('order-42');
      await open(`/tasks/${ids.fail}`);
      expect(await page.locator('[data-testid="error"]').innerText()).toMatch(/TypeError: card declined by the test gateway[\s\S]*at /);
      expect(await page.locator('[data-testid="args"]').innerText()).toContain('order-13');
      await shot('task');

      await open(`/dead-letters?queue=${queues.work}`);
      expect(await page.locator('[data-testid="dead-letter-groups"]').innerText()).toContain('TypeError');
      expect(await page.locator('[data-testid="dead-letters"]').innerText()).toContain(ids.fail!);
      await shot('dead-letters');

      await open('/workers');
      expect(await page.locator('[data-testid="workers"]').innerText()).toContain(workerId);
      await shot('workers');

      await open('/schedules');
      expect(await page.locator('[data-testid="schedules"]').innerText()).toContain('dash.ok');
      await open('/workflows');
      if (ids.run) {
        expect(await page.locator('[data-testid="runs"]').innerText()).toContain(ids.run);
        await open(`/workflows/${ids.run}`);
        expect(await page.content()).toContain('dash.checkout');
      }
      await open('/audit');
    }, 60_000);

    it('replaying a dead letter from the UI makes the task succeed', async () => {
      await open(`/dead-letters?queue=${queues.work}`);
      // NOTE: the page is already at /dead-letters, so the wait is on the action's own answer (a 303 back to it).
      const answered = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/actions/dead-letter-replay'));
      await page.locator(`tr[data-dead-letter="${ids.flaky}"] button[data-action="dead-letter-replay"]`).click();
      expect((await answered).status()).toBe(303);
      // NOTE: an error flash would show in .error; reading both makes a refusal fail with its message.
      expect(await page.locator('.notice, .error').first().innerText()).toContain(`Replayed task ${ids.flaky}`);
      const result = await client.waitForTask(ids.flaky!, { timeout: 15_000 });
      expect(result.status?.state).toBe('succeeded');
      expect(result.value).toBe('ok on attempt 1');
      await open(`/tasks/${ids.flaky}`);
      expect(await page.locator('[data-field="state"]').innerText()).toBe('succeeded');
      await open('/audit');
      expect(await page.locator('[data-testid="audit"]').innerText()).toContain(`queue ${queues.work} task ${ids.flaky}`);
    });

    it('pausing a queue from the UI stops its consumption, and resuming it restarts it', async () => {
      await open('/workers');
      await page.locator(`[data-testid="worker-queues"] tr[data-queue="${queues.pausable}"] button[data-action="queue-pause"]`).click();
      await page.waitForURL(/workers/);
      expect(await page.locator('.notice').innerText()).toContain('1 worker(s) applied it at once');
      const held = await client.enqueue('dash.pausable', {});
      // NOTE: the worker keeps consuming its other queue meanwhile: a task enqueued after the held one finishes first.
      await client.waitForTask(await client.enqueue('dash.ok', { orderId: 'while-paused' }), { timeout: 15_000 });
      await until(async () => (await adapters.revokeStore!.listHeartbeats()).some((w) => w.pausedQueues.includes(queues.pausable)), 'the heartbeat to show the pause');
      expect(await status(held)).toBe('queued');
      await open('/workers');
      await page.locator(`[data-testid="worker-queues"] tr[data-queue="${queues.pausable}"] button[data-action="queue-resume"]`).click();
      await page.waitForURL(/workers/);
      expect((await client.waitForTask(held, { timeout: 15_000 })).status?.state).toBe('succeeded');
    });

    it('read-only mode shows no action buttons and refuses actions', async () => {
      for (const path of ['/', `/tasks/${ids.block}`, `/dead-letters?queue=${queues.work}`, '/workers', '/schedules']) {
        await open(path, readOnlyUrl);
        expect(await page.locator('[data-testid="read-only"]').count()).toBe(1);
        expect(await page.locator('form[method="post"], button[data-action]').count(), path).toBe(0);
      }
      const token = await page.locator('meta[name="stem-csrf"]').getAttribute('content');
      const res = await page.request.post(`${readOnlyUrl}/stem/actions/queue-pause`, { form: { _csrf: token!, queue: queues.work } });
      expect(res.status()).toBe(403);
    });

    it('refuses a mutating request without the CSRF token', async () => {
      await open('/workers');
      const res = await page.request.post(`${url}/stem/actions/queue-pause`, { form: { queue: queues.work } });
      expect(res.status()).toBe(403);
      expect(await res.text()).toContain('CSRF');
      expect((await adapters.revokeStore!.listQueuePauses()).some((p) => p.queue === queues.work && p.paused)).toBe(false);
    });

    it.runIf(outside)('refuses a non-loopback request when no guard is configured', async () => {
      const response = await page.goto(`${url.replace('127.0.0.1', outside!)}/stem`);
      expect(response?.status()).toBe(403);
      expect(await page.locator('body').innerText()).toContain('answers only requests from this machine');
    });
  });
}
