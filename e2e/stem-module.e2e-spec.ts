import 'reflect-metadata';
import { Body, Controller, Injectable, type INestApplication, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { IsEmail, IsInt, IsString, Max, Min } from 'class-validator';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Broker,
  type DeadLetterAdmin,
  InvalidTaskArgsError,
  STEM_BROKER,
  StemClient,
  StemModule,
  type StemModuleOptions,
  StemWorkerHost,
  Task,
  type TaskContext,
} from '../lib/index.js';
import { StemWorkerStrategy } from '../lib/nest/microservices/index.js';

class SendEmailDto {
  @IsEmail()
  to!: string;

  @IsString()
  subject!: string;
}

class CountDto {
  @IsInt()
  @Min(0)
  @Max(10)
  n!: number;
}

@Injectable()
class Mailer {
  readonly sent: string[] = [];
  async send(to: string): Promise<boolean> {
    this.sent.push(to);
    return true;
  }
}

@Injectable()
class Probe {
  running = 0;
  peak = 0;
  flakyAttempts: number[] = [];
  failingAttempts = 0;
  finishedSlow = false;
}

@Injectable()
class EmailTasks {
  constructor(
    private readonly mailer: Mailer,
    private readonly probe: Probe,
  ) {}

  @Task({ name: 'email.send', queue: 'emails', maxRetries: 3, visibilityTimeout: 60_000 })
  async send(args: SendEmailDto, ctx: TaskContext): Promise<{ delivered: boolean; to: string; isDto: boolean; tenant?: string }> {
    const delivered = await this.mailer.send(args.to);
    return { delivered, to: args.to, isDto: args instanceof SendEmailDto, tenant: ctx.headers['x-tenant'] };
  }

  @Task({ name: 'flaky', queue: 'emails', maxRetries: 3, retryPolicy: { backoff: 10, jitter: false } })
  async flaky(_args: object, ctx: TaskContext): Promise<string> {
    this.probe.flakyAttempts.push(ctx.attempt);
    if (ctx.attempt === 0) throw new Error('SMTP timeout');
    return `ok on attempt ${ctx.attempt}`;
  }

  @Task({ name: 'always.fails', queue: 'emails', maxRetries: 2, retryPolicy: { backoff: 5, jitter: false } })
  async alwaysFails(): Promise<never> {
    this.probe.failingAttempts++;
    throw new Error('mailbox does not exist');
  }

  @Task({ name: 'count', queue: 'emails' })
  async count(args: CountDto): Promise<number> {
    return args.n * 2;
  }

  @Task({ name: 'slow', queue: 'emails' })
  async slow(): Promise<string> {
    this.probe.running++;
    this.probe.peak = Math.max(this.probe.peak, this.probe.running);
    await new Promise((r) => setTimeout(r, 10));
    this.probe.running--;
    return 'done';
  }

  @Task({ name: 'drain.me', queue: 'emails' })
  async drainMe(): Promise<string> {
    await new Promise((r) => setTimeout(r, 300));
    this.probe.finishedSlow = true;
    return 'finished';
  }
}

@Controller('emails')
class EmailController {
  constructor(private readonly stem: StemClient) {}

  @Post()
  async send(@Body() body: { to: string; subject: string }): Promise<{ id: string }> {
    return { id: await this.stem.enqueue('email.send', body, { priority: 5, headers: { 'x-tenant': 'acme' } }) };
  }
}

function appModule(options: StemModuleOptions) {
  @Module({
    imports: [StemModule.forRoot(options)],
    controllers: [EmailController],
    providers: [EmailTasks, Mailer, Probe],
  })
  class AppModule {}
  return AppModule;
}

const apps: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function boot(options: StemModuleOptions = { worker: { queues: ['emails'], concurrency: 8 } }): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [appModule(options)] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  await app.init();
  return app;
}

describe('StemModule (in-memory)', () => {
  it('a controller enqueues over HTTP and the worker runs the task with injected deps', async () => {
    const app = await boot();
    await app.listen(0);
    const url = await app.getUrl();
    const response = await fetch(`${url.replace('[::1]', 'localhost')}/emails`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'a@b.co', subject: 'hi' }),
    });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    const stem = app.get(StemClient);
    const res = await stem.waitForTask<{ delivered: boolean; to: string; isDto: boolean; tenant: string }>(id, { timeout: 5_000 });
    expect(res.timedOut).toBe(false);
    expect(res.status?.state).toBe('succeeded');
    expect(res.value).toEqual({ delivered: true, to: 'a@b.co', isDto: true, tenant: 'acme' });
    expect(app.get(Mailer).sent).toEqual(['a@b.co']);
  });

  it('a flaky task succeeds on its second attempt under the same id', async () => {
    const app = await boot();
    const stem = app.get(StemClient);
    const id = await stem.enqueue('flaky');
    const res = await stem.waitForTask<string>(id, { timeout: 5_000 });
    expect(res.value).toBe('ok on attempt 1');
    expect(res.status).toMatchObject({ id, state: 'succeeded', attempt: 1 });
    expect(app.get(Probe).flakyAttempts).toEqual([0, 1]);
  });

  it('an always-failing task ends failed with a dead letter after maxRetries', async () => {
    const app = await boot();
    const stem = app.get(StemClient);
    const id = await stem.enqueue('always.fails');
    const res = await stem.waitForTask(id, { timeout: 5_000 });
    expect(res.status).toMatchObject({ state: 'failed', attempt: 2, error: { message: 'mailbox does not exist' } });
    expect(app.get(Probe).failingAttempts).toBe(3);
    const broker = app.get<Broker & DeadLetterAdmin>(STEM_BROKER);
    const dead = await broker.listDeadLetters('emails');
    expect(dead.items.map((e) => [e.envelope.id, e.reason])).toEqual([[id, 'max-retries-exhausted']]);
  });

  it('rejects an invalid DTO at enqueue with a message naming the task and constraints, publishing nothing', async () => {
    const app = await boot({ worker: false });
    const stem = app.get(StemClient);
    const error = await stem.enqueue('email.send', { to: 'not-an-email', subject: 42 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidTaskArgsError);
    expect((error as Error).message).toMatch(/Invalid arguments for task "email\.send"/);
    expect((error as Error).message).toMatch(/to: to must be an email/);
    expect((error as Error).message).toMatch(/subject: subject must be a string/);
    expect((error as InvalidTaskArgsError).violations.map((v) => v.property)).toEqual(['to', 'subject']);
    await expect(stem.enqueue('count', { n: 11 })).rejects.toThrow(/n: n must not be greater than 10/);
    expect(await app.get<Broker>(STEM_BROKER).pendingCount('emails')).toBe(0);
  });

  it('a worker that receives args failing the DTO dead-letters them as invalid-args without retrying', async () => {
    const app = await boot();
    const broker = app.get<Broker & DeadLetterAdmin>(STEM_BROKER);
    const stem = app.get(StemClient);
    // A producer in another service might not validate: publish a bad envelope directly.
    const envelope = { ...stem.core.buildEnvelope('count', { n: 3 }), args: { n: 'three' } };
    await broker.publish(envelope);
    const id = envelope.id;
    const res = await stem.waitForTask(id, { timeout: 5_000 });
    expect(res.status).toMatchObject({ state: 'failed', attempt: 0, error: { type: 'InvalidTaskArgsError' } });
    expect((await broker.getDeadLetter('emails', id))?.reason).toBe('invalid-args');
  });

  it('never runs more than 2 tasks at once with concurrency 2, under 50 tasks', async () => {
    const app = await boot({ worker: { queues: ['emails'], concurrency: 2 } });
    const stem = app.get(StemClient);
    const ids = await Promise.all(Array.from({ length: 50 }, () => stem.enqueue('slow')));
    const results = await Promise.all(ids.map((id) => stem.waitForTask(id, { timeout: 10_000 })));
    expect(results.every((r) => r.status?.state === 'succeeded')).toBe(true);
    expect(app.get(Probe).peak).toBe(2);
  });

  it('app.close() drains a running task before exit', async () => {
    const app = await boot();
    const stem = app.get(StemClient);
    const probe = app.get(Probe);
    const id = await stem.enqueue('drain.me');
    const deadline = Date.now() + 2_000;
    while ((await stem.getTaskStatus(id))?.state !== 'running' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const backend = stem.core.backend!;
    apps.splice(apps.indexOf(app), 1);
    await app.close();
    expect(probe.finishedSlow).toBe(true);
    expect((await backend.get(id))?.state).toBe('succeeded');
  });

  it('a producer-only app (worker: false) enqueues but runs nothing', async () => {
    const app = await boot({ worker: false });
    expect(app.get(StemWorkerHost).worker).toBeUndefined();
    const stem = app.get(StemClient);
    const id = await stem.enqueue('email.send', { to: 'x@y.io', subject: 's' });
    const res = await stem.waitForTask(id, { timeout: 100 });
    expect(res).toMatchObject({ timedOut: true, status: { state: 'queued' } });
    expect(await app.get<Broker>(STEM_BROKER).pendingCount('emails')).toBe(1);
  });

  it('forRootAsync builds options from a factory, and isGlobal exposes StemClient everywhere', async () => {
    @Injectable()
    class Elsewhere {
      constructor(readonly stem: StemClient) {}
    }
    @Module({ providers: [Elsewhere], exports: [Elsewhere] })
    class FeatureModule {}
    @Module({
      imports: [StemModule.forRootAsync({ isGlobal: true, useFactory: async () => ({ broker: 'memory://', worker: { concurrency: 2 } }) }), FeatureModule],
      providers: [EmailTasks, Mailer, Probe],
    })
    class AsyncModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AsyncModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    apps.push(app);
    await app.init();
    const stem = app.get(Elsewhere).stem;
    const id = await stem.enqueue('count', { n: 4 });
    expect((await stem.waitForTask(id, { timeout: 5_000 })).value).toBe(8);
    expect(app.get(StemWorkerHost).worker?.queues).toEqual(['emails']);
  });

  it('fails at bootstrap when two classes declare the same task name, naming both', async () => {
    @Injectable()
    class BillingTasks {
      @Task({ name: 'email.send' })
      charge(): void {}
    }
    @Module({ imports: [StemModule.forRoot({})], providers: [EmailTasks, Mailer, Probe, BillingTasks] })
    class Clash {}
    const moduleRef = await Test.createTestingModule({ imports: [Clash] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await expect(app.init()).rejects.toThrow(/Task "email\.send" is registered twice \(EmailTasks\.send and BillingTasks\.charge\)/);
    await app.close();
  });

  it('rejects an unsupported broker URL with a message naming the option', async () => {
    const moduleRef = Test.createTestingModule({ imports: [appModule({ broker: 'kafka://localhost:9092' })] });
    await expect(moduleRef.compile()).rejects.toThrow(/Invalid option "broker": unsupported scheme "kafka:"/);
  });

  it('runs as a Nest microservice with the Stem transport strategy and drains on close', async () => {
    const app = await NestFactory.createMicroservice(appModule({ worker: { queues: ['emails'], concurrency: 4 } }), {
      strategy: new StemWorkerStrategy(),
      logger: false,
    });
    await app.listen();
    const stem = app.get(StemClient);
    const id = await stem.enqueue('drain.me');
    const deadline = Date.now() + 2_000;
    while ((await stem.getTaskStatus(id))?.state !== 'running' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const backend = stem.core.backend!;
    await app.close();
    expect((await backend.get(id))?.state).toBe('succeeded');
  });
});
