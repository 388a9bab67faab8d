// The README's TypeScript blocks are the files under examples/ (checked line for line); this file
// runs each example and checks it does what the README says it does.
import 'reflect-metadata';
import { type INestApplication, type INestApplicationContext, Injectable } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
// @ts-expect-error: a plain JavaScript module without types
import { checkReadme } from '../../.ci/readme-examples.mjs';
import { StemClient, StemWorkerHost, Task } from '../../lib/index.js';
import { PostgresBroker } from '../../lib/adapters/postgres/index.js';
import { RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { dropSchema, testSchema } from '../postgres/postgres-test-kit.js';
import { deleteKeys } from '../redis/redis-test-utils.js';
import { POSTGRES_URL, postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';

const withRedis = await redisAvailable();
const withPostgres = await postgresAvailable();

@Injectable()
class PingTasks {
  @Task({ name: 'ping' })
  ping(): string {
    return 'pong';
  }
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const close of closers.splice(0).reverse()) await close();
});

/** Runs a top-level-await example script and returns what it printed with console.log. */
async function runScript(path: string, env: Record<string, string> = {}): Promise<string[]> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const printed: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')));
  try {
    await import(path);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return printed;
}

async function context<T>(module: new () => T, extra: { providers?: any[] } = {}): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({ imports: [module], providers: extra.providers ?? [] })
    .setLogger({ log() {}, warn() {}, error: console.error })
    .compile();
  closers.push(() => moduleRef.close());
  await moduleRef.init();
  return moduleRef;
}

describe('README', () => {
  it('every TypeScript block is an example file (or a region of one), unchanged', () => {
    expect(checkReadme()).toEqual([]);
  });

  it('quick start: 201 with the delivered result, 400 with the violations, a delayed task queued', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const { bootstrap } = await import('../../examples/quick-start.js');
    const app: INestApplication = await bootstrap(0);
    closers.push(() => app.close());
    const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, json: (await response.json()) as any };
    };
    const sent = await post('/emails', { to: 'a@b.co', subject: 'hi' });
    expect(sent.status).toBe(201);
    expect(sent.json).toEqual({ id: expect.any(String), state: 'succeeded', delivered: true, timedOut: false });
    const invalid = await post('/emails', { to: 'nope' });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ task: 'email.send', message: ['to must be an email', 'subject must be a string'] });
    const later = await post('/emails/later', { to: 'a@b.co', subject: 'later' });
    expect(later.status).toBe(201);
    expect((await app.get(StemClient).getTaskStatus(later.json.id))?.state).toBe('queued');
  });

  it('without Nest: prints 5', async () => {
    expect(await runScript('../../examples/without-nest.js')).toEqual(['5']);
  });

  it('routing: reports.* clamped into its range, a broadcast run once by each subscribed worker', async () => {
    expect(await runScript('../../examples/routing.js')).toEqual(['reports main legacy cache@node-a', 'reports p3', 'flushed on cache@node-a', 'flushed on cache@node-b']);
  });

  it('enqueue scope: nested withMeta, the inner scope and the call meta winning', async () => {
    expect(await runScript('../../examples/enqueue-scope.js')).toEqual(['req-42 u2 welcome']);
  });

  it('defineTask: typed enqueueAndWait, and the builder enqueues a delayed task', async () => {
    expect(await runScript('../../examples/define-task.js')).toEqual(['true queued']);
  });

  it('adapter registry: a registered scheme picks its store by URL', async () => {
    expect(await runScript('../../examples/adapter-registry.js')).toEqual(['memory']);
  });

  it('operations queries: queue counts, counts by state, throughput, search and recorded args', async () => {
    expect(await runScript('../../examples/operations-queries.js')).toEqual(['orders: 1 pending, 0 delayed, 0 dead', '1', '0', '{"orderId":42,"carrier":"ups"}', 'true']);
  });

  it('CPU-bound tasks: the module gives its worker a thread pool of 2 and autoscaling from 2', async () => {
    const { CpuModule } = await import('../../examples/cpu-tasks.js');
    const app = await context(CpuModule);
    const worker = app.get(StemWorkerHost).worker!;
    expect(worker.concurrency).toBe(2);
    expect(worker.stats().executors.thread).toMatchObject({ size: 0, target: 2, maxSize: 2, busy: 0 });
  });

  it('typed tasks: a typed handle enqueues and waits', async () => {
    const { TypedTasksModule, Notifier } = await import('../../examples/typed-tasks.js');
    const app = await context(TypedTasksModule);
    expect(await app.get(Notifier).welcome()).toBe(true);
  });

  it('canvas: group, chord, chain, map, chunks and link give the values in the comments', async () => {
    const { CanvasModule, Reports } = await import('../../examples/canvas.js');
    const app = await context(CanvasModule);
    expect(await app.get(Reports).run()).toEqual({ squares: [1, 4, 9], total: 14, doubled: 18, mapped: [16, 25], chunked: [4950, 14950, 11225] });
  });

  it('unique tasks: three enqueues, one id; an override key makes its own task', async () => {
    const { UniqueModule, OrderSync } = await import('../../examples/unique.js');
    const app = await context(UniqueModule);
    const { ids, other } = await app.get(OrderSync).syncTwice();
    expect(new Set(ids).size).toBe(1);
    expect(other).not.toBe(ids[0]);
  });

  it('payload encoders: a Buffer goes in and comes back through base64', async () => {
    const { ImageModule } = await import('../../examples/encoders.js');
    const app = await context(ImageModule);
    const stem = app.get(StemClient);
    const res = await stem.waitForTask<Buffer>(await stem.enqueue('image.thumbnail', Buffer.from('abcdefgh')), { timeout: 5_000 });
    expect(Buffer.from(res.value!).toString()).toBe('abcd');
  });

  it('signing: the signed module signs what it enqueues and its worker verifies it; an Ed25519 key pair is generated', async () => {
    const { SignedModule, privateKey, publicKey } = await import('../../examples/signing.js');
    expect([typeof privateKey, typeof publicKey]).toEqual(['string', 'string']);
    const app = await context(SignedModule, { providers: [PingTasks] });
    const stem = app.get(StemClient, { strict: false });
    expect(stem.core.signer).toBeDefined();
    expect((await stem.waitForTask(await stem.enqueue('ping'), { timeout: 5_000 })).value).toBe('pong');
    // maxAge: every signed envelope carries its signed window.
    const envelope = stem.core.buildEnvelope('ping', {});
    const until = Number(envelope.headers['stem-signed-until']);
    expect(until - Date.now()).toBeGreaterThan(86_400_000 - 5_000);
    expect(until - Date.now()).toBeLessThanOrEqual(86_400_000);
    expect(stem.core.signer!.verify(envelope)).toEqual({ valid: true, keyId: 'k2' });
  });

  it('Beat: the schedules are upserted at boot and StemScheduler previews runs', async () => {
    process.env.STEM_BROKER_URL = 'memory://';
    const { SchedulerModule, Trials } = await import('../../examples/beat.js');
    delete process.env.STEM_BROKER_URL;
    const app = await context(SchedulerModule);
    const next = await app.get(Trials).remind('a@b.co', new Date(Date.now() + 86_400_000));
    expect(next).toHaveLength(5);
  });

  it('remote tasks: an API module with worker: false enqueues a declared task, a worker module runs it, a typo is refused', async () => {
    const { ReportApiModule, ReportWorkerModule, Reports } = await import('../../examples/remote-tasks.js');
    await context(ReportWorkerModule);
    const api = await context(ReportApiModule);
    const out = await api.get(Reports).monthly('2026-11');
    expect(out).toEqual({ id: expect.any(String), value: 'report 2026-11', refused: 'report.biuld', known: ['report.build'] });
    const status = await api.get(StemClient).waitForTask(out!.id, { timeout: 5_000 });
    expect([status.status?.state, status.status?.queue, status.value]).toEqual(['succeeded', 'reports', 'report 2026-11']);
  });

  it('operating workers: a running task revoked with terminate ends cancelled with its reason; the worker is listed by its heartbeat', async () => {
    expect(await runScript('../../examples/operating-workers.js')).toEqual(['reports-1 terminated 1', 'too slow', 'reports-1']);
  });

  it('publish retry: a publish cut off mid-flight is enqueued again under the same id; the task runs (twice: at least once)', async () => {
    expect(await runScript('../../examples/publish-retry.js')).toEqual(['succeeded true 2']);
  });

  it('bad input: a bad option is refused naming it; a malformed envelope is dead-lettered and its neighbour runs', async () => {
    expect(await runScript('../../examples/bad-input.js')).toEqual(['priority', '5', 'malformed-envelope bad-1 priority must be an integer from 0 to 9']);
  });

  it('worker extensions and executors: attempts timed and logged with their outcome, a paused tenant delayed, runIn picks the executor', async () => {
    const printed = (await runScript('../../examples/worker-extension.js')).map((line) => line.replace(/in \d+ ms$/, 'in N ms'));
    // `succeeded` is written before onSettled runs, so the waiting producer may print first.
    expect(printed.sort()).toEqual(['acme delayed 60000 ms: tenant paused', 'rendered', 'report.render #0 retried in N ms', 'report.render #1 succeeded in N ms']);
  });

  it('middleware: a header added on enqueue reaches the handler, onError sees the failed attempt, a DI middleware times execution into the status meta', async () => {
    expect(await runScript('../../examples/middleware.js')).toEqual(['echo.request #0 failed: cold cache', 'req-42', 'invoice 7 for acme', 'number']);
  });

  it('signals: a filtered alert, a once listener, postrun for every task, next() and unsubscribe', async () => {
    const printed = await runScript('../../examples/signals.js');
    expect(printed[0]).toBe('ready on billing, emails');
    expect(printed.slice(1).sort()).toEqual(['alert: billing.charge card declined', 'billing.charge failed', 'email.send succeeded', 'sent'].sort());
  });

  it('tracing: ctx.logger lines reach the sink; without an SDK no trace header is written', async () => {
    expect(await runScript('../../examples/tracing.js')).toEqual(['info report.build#0 building', 'false']);
  });

  it('durable workflows: the tour does what its comments say', async () => {
    const { WorkflowsModule, Payments, tour } = await import('../../examples/workflows.js');
    const app = await context(WorkflowsModule);
    const printed: unknown[][] = [];
    await tour(app.get(StemClient), app.get(Payments), (...values: unknown[]) => void printed.push(values));
    expect(printed).toEqual([
      ['completed', 'T1'],
      ['charge#0 $awaitEvent#0 $sleep#0 receipt#0'],
      [{ approvedBy: 'ada', reports: ['mon: 3 pages', 'tue: 3 pages'] }],
      [3, true],
      ['cancelled', 'customer asked'],
      [1],
    ]);
  });

  it.runIf(withRedis)('API and worker processes share a broker URL; the worker runs what the API enqueues', async () => {
    process.env.STEM_BROKER_URL = `${REDIS_URL}?prefix=${uniqueName('readme')}`;
    const { ApiModule, startWorker, inspect } = await import('../../examples/api-and-worker.js');
    const worker = await startWorker();
    closers.push(() => worker.close());
    const api = await NestFactory.createApplicationContext(ApiModule, { logger: false });
    closers.push(() => api.close());
    delete process.env.STEM_BROKER_URL;
    const stem = api.get(StemClient);
    const id = await stem.enqueue('report.build', { month: '2026-10' });
    expect((await stem.waitForTask(id, { timeout: 10_000 })).value).toBe('report 2026-10');
    const { page, entry, wouldReplay } = await inspect(worker, id);
    expect([page.items.length, entry, wouldReplay.entries.length, wouldReplay.dryRun]).toEqual([0, null, 0, true]);
  });

  it.runIf(withRedis)('Redis without Nest: prints 5', async () => {
    expect(await runScript('../../examples/redis.js', { REDIS_URL, STEM_PREFIX: uniqueName('readme') })).toEqual(['5']);
  });

  it.runIf(withRedis)('the Redis module boots against redis://127.0.0.1:6379', async () => {
    const { RedisAppModule } = await import('../../examples/stores.module.js');
    await context(RedisAppModule);
  });

  it.runIf(withRedis)('dashboard: mounted at /stem behind the admin guard, read-only in production', async () => {
    const prefix = uniqueName('readme-dash');
    closers.push(() => deleteKeys(REDIS_URL, prefix));
    const env = { REDIS_URL: `${REDIS_URL}?prefix=${prefix}`, ADMIN_TOKEN: 'let-me-in', NODE_ENV: 'production' };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    closers.push(async () => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    const { AppModule } = await import('../../examples/dashboard.js');
    const app = await NestFactory.create(AppModule, { logger: false, forceCloseConnections: true });
    closers.push(() => app.close());
    await app.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/stem`;
    expect((await fetch(`${url}/workers`)).status).toBe(403);
    const page = await fetch(`${url}/workers`, { headers: { 'x-admin-token': 'let-me-in' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('read-only');
    expect(html).not.toContain('/stem/actions/');
  });

  it.runIf(withRedis && withPostgres)(
    'dead-connection settings: Redis and Postgres connect with them; a bad value is refused naming the option',
    async () => {
      const schema = testSchema();
      closers.push(() => dropSchema(schema));
      const env = { REDIS_URL: `${REDIS_URL}?prefix=${uniqueName('readme')}`, DATABASE_URL: `${POSTGRES_URL}?schema=${schema}` };
      expect(await runScript('../../examples/connections.js', env)).toEqual(['redis redis postgres']);
      await expect(RedisStreamsBroker.connect(REDIS_URL, { deadConnectionTimeout: 0 })).rejects.toThrow(/Invalid option "deadConnectionTimeout"/);
      await expect(PostgresBroker.connect(POSTGRES_URL, { schema, queryTimeout: -1 })).rejects.toThrow(/Invalid option "queryTimeout"/);
    },
    30_000,
  );

  it.runIf(withPostgres)(
    'Postgres transactional enqueue: prints succeeded confirmed 42',
    async () => {
      const schema = testSchema();
      closers.push(() => dropSchema(schema));
      expect(await runScript('../../examples/postgres.js', { DATABASE_URL: POSTGRES_URL, STEM_SCHEMA: schema })).toEqual(['succeeded confirmed 42']);
    },
    30_000,
  );
});
