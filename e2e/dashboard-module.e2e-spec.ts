import 'reflect-metadata';
import { type CanActivate, type ExecutionContext, type INestApplication, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { StemDashboardModule, type StemDashboardModuleOptions } from '../lib/dashboard/index.js';
import { StemModule } from '../lib/index.js';

/** Lets in requests with `x-admin: yes` and signs them in as `root`. */
@Injectable()
class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; user?: unknown }>();
    if (req.headers['x-admin'] !== 'yes') return false;
    req.user = { username: 'root' };
    return true;
  }
}

const outside = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function boot(platform: 'express' | 'fastify', dashboard: StemDashboardModuleOptions): Promise<string> {
  @Module({ imports: [StemModule.forRoot({ broker: 'memory://', worker: false }), StemDashboardModule.forRoot(dashboard)], providers: [AdminGuard] })
  class AppModule {}
  const app =
    platform === 'express'
      ? await NestFactory.create(AppModule, { logger: false, forceCloseConnections: true })
      : await NestFactory.create(AppModule, new FastifyAdapter({ forceCloseConnections: true }), { logger: false });
  apps.push(app);
  await app.listen(0, '0.0.0.0');
  return `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
}

for (const platform of ['express', 'fastify'] as const) {
  describe(`StemDashboardModule on ${platform}`, () => {
    it('serves the pages and assets under its path and leaves other routes to the app', async () => {
      const url = await boot(platform, { path: '/ops/stem' });
      for (const path of ['/ops/stem', '/ops/stem/', '/ops/stem/tasks?state=failed', '/ops/stem/workers']) {
        const res = await fetch(`${url}${path}`);
        expect(res.status, path).toBe(200);
        expect(await res.text()).toContain('href="/ops/stem/assets/dashboard.css"');
      }
      const js = await fetch(`${url}/ops/stem/assets/dashboard.js`);
      expect(js.headers.get('content-type')).toContain('javascript');
      expect((await fetch(`${url}/elsewhere`)).status).toBe(404);
    });

    it.runIf(outside)('runs Nest guards: refuses what they refuse, and records the user they set', async () => {
      const url = (await boot(platform, { guards: [AdminGuard] })).replace('127.0.0.1', outside!);
      expect((await fetch(`${url}/stem`)).status).toBe(403);
      const page = await fetch(`${url}/stem/workers`, { headers: { 'x-admin': 'yes' } });
      expect(page.status).toBe(200);
      const html = await page.text();
      const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
      const token = /name="stem-csrf" content="([^"]+)"/.exec(html)![1]!;
      const res = await fetch(`${url}/stem/actions/queue-pause`, {
        method: 'POST',
        headers: { cookie, 'x-admin': 'yes', 'content-type': 'application/json', 'x-stem-csrf': token, accept: 'application/json' },
        body: JSON.stringify({ queue: 'reports' }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ok: true, count: 1 });
      const audit = await (await fetch(`${url}/stem/audit`, { headers: { 'x-admin': 'yes' } })).text();
      expect(audit).toMatch(/root<\/td>\s*<td>queue-pause<\/td>\s*<td>queue reports/);
    });
  });
}
