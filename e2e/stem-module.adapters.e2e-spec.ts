import 'reflect-metadata';
import { Injectable, type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { type AddressInfo, createServer } from 'node:net';
import { IsInt, Min } from 'class-validator';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Broker, STEM_BROKER, StemClient, StemModule, type StemModuleOptions, StemWorkerHost, Task, type TaskContext } from '../lib/index.js';
import { uniqueName } from '../lib/testing/contract-helpers.js';
import { isolatedPostgresUrl, postgresAvailable, REDIS_URL, redisAvailable } from '../test/support/services.js';

class SquareDto {
  @IsInt()
  @Min(0)
  n!: number;
}

@Injectable()
class MathTasks {
  @Task({ name: 'math.square', maxRetries: 2, retryPolicy: { backoff: 20, jitter: false } })
  async square(args: SquareDto, ctx: TaskContext): Promise<{ value: number; attempt: number }> {
    if (ctx.headers['x-fail-first'] === 'yes' && ctx.attempt === 0) throw new Error('first attempt fails');
    await ctx.progress(100);
    return { value: args.n * args.n, attempt: ctx.attempt };
  }
}

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function boot(options: StemModuleOptions): Promise<INestApplication> {
  @Module({ imports: [StemModule.forRoot(options)], providers: [MathTasks] })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  await app.init();
  return app;
}

const postgres = isolatedPostgresUrl();
const targets = [
  { name: 'Redis', url: `${REDIS_URL}?prefix=${uniqueName('e2e')}`, available: await redisAvailable() },
  { name: 'Postgres', url: postgres.url, available: await postgresAvailable() },
];
afterAll(async () => {
  if (targets[1]!.available) await postgres.drop();
});

for (const target of targets) {
  describe.skipIf(!target.available)(`StemModule on ${target.name} (${target.url})`, () => {
    it('selects the adapter by URL; a producer-only app and a worker app share the store', async () => {
      const queue = uniqueName('e2e');
      const worker = await boot({ broker: target.url, defaults: { queue }, worker: { concurrency: 4 } });
      const api = await boot({ broker: target.url, defaults: { queue }, worker: false });
      expect(api.get(StemWorkerHost).worker).toBeUndefined();
      expect(worker.get<Broker>(STEM_BROKER).name).toBe(target.name.toLowerCase());
      const stem = api.get(StemClient);
      const id = await stem.enqueue('math.square', { n: 7 }, { headers: { 'x-fail-first': 'yes' } });
      const res = await stem.waitForTask<{ value: number; attempt: number }>(id, { timeout: 10_000 });
      expect(res.timedOut).toBe(false);
      expect(res.value).toEqual({ value: 49, attempt: 1 });
      expect(res.status).toMatchObject({ state: 'succeeded', attempt: 1, progress: { percent: 100 } });
      await expect(stem.enqueue('math.square', { n: -1 })).rejects.toThrow(/Invalid arguments for task "math\.square": n: n must not be less than 0/);
    });
  });
}

/** A port nothing listens on: bound once by the OS, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('StemModule with an unreachable store', () => {
  it('fails to start with an error naming the Redis URL', async () => {
    const port = await closedPort();
    await expect(boot({ broker: `redis://127.0.0.1:${port}` })).rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${port}`));
  });

  it('fails to start with an error naming the Postgres URL, without its password', async () => {
    const port = await closedPort();
    const error = (await boot({ broker: `postgres://stem:secret@127.0.0.1:${port}/app` }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}`));
    expect(error.message).not.toMatch(/secret/);
  });
});
