// A user's app: a @Task() with a DTO, enqueued through StemClient and run by the worker in the
// same process (memory broker), a @Task({ runIn: 'thread' }) that a pool thread runs after
// booting this file's AppModule, plus the engine alone from nestjs-stem/core. Prints one JSON
// line and exits 1 when anything is off. The CommonJS app has the same file (pack-check.sh
// checks they stay identical).
import 'reflect-metadata';
import { isMainThread, threadId } from 'node:worker_threads';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { IsInt } from 'class-validator';
import { InvalidTaskArgsError, StemClient, StemExceptionFilter, StemModule, Task, type TaskContext } from 'nestjs-stem';
import { SimpleTaskRegistry, Stem, Worker } from 'nestjs-stem/core';
import { InMemoryBroker, InMemoryResultBackend } from 'nestjs-stem/memory';
import { FakeStem } from 'nestjs-stem/testing';

export class AddDto {
  @IsInt() a!: number;
  @IsInt() b!: number;
}

@Injectable()
export class MathTasks {
  @Task({ name: 'math.add', queue: 'math' })
  async add(args: AddDto, ctx: TaskContext): Promise<{ sum: number; isDto: boolean; attempt: number }> {
    return { sum: args.a + args.b, isDto: args instanceof AddDto, attempt: ctx.attempt };
  }

  @Task({ name: 'math.mul', queue: 'math', runIn: 'thread' })
  async mul(args: AddDto): Promise<{ product: number; isDto: boolean; inThread: boolean }> {
    return { product: args.a * args.b, isDto: args instanceof AddDto, inThread: threadId > 0 };
  }
}

@Module({
  imports: [StemModule.forRoot({ broker: 'memory://', worker: { queues: ['math'], concurrency: 2, threads: { size: 1 } } })],
  providers: [MathTasks],
})
export class AppModule {}

async function withNest(): Promise<unknown> {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
  try {
    const stem = app.get(StemClient);
    const res = await stem.task(MathTasks, 'add').enqueueAndWait({ a: 2, b: 3 }, { timeout: 5_000 });
    const invalid = await stem.enqueue('math.add', { a: 'two', b: 3 }).catch((error: unknown) => error);
    const threaded = await stem.task(MathTasks, 'mul').enqueueAndWait({ a: 6, b: 7 }, { timeout: 30_000 });
    return {
      state: res.status?.state,
      value: res.value,
      thread: threaded.value ?? threaded.status?.error,
      invalidRejected: invalid instanceof InvalidTaskArgsError,
      filter: typeof new StemExceptionFilter().catch,
    };
  } finally {
    await app.close();
  }
}

async function withoutNest(): Promise<unknown> {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  const registry = new SimpleTaskRegistry([{ name: 'mul', call: async (_ctx, args: { x: number; y: number }) => args.x * args.y }]);
  const worker = new Worker({ broker, backend, registry, concurrency: 2 });
  await worker.start();
  const stem = new Stem({ broker, backend, registry });
  const res = await stem.waitForTask<number>(await stem.enqueue('mul', { x: 6, y: 7 }), { timeout: 5_000 });
  await worker.close();
  return res.value;
}

async function main(): Promise<void> {
  const fake = new FakeStem();
  await fake.enqueue('math.add', { a: 1, b: 1 });
  const report = { nest: await withNest(), core: await withoutNest(), fakeEnqueued: fake.enqueued('math.add').length };
  console.log(JSON.stringify(report));
  const expected = JSON.stringify({
    nest: { state: 'succeeded', value: { sum: 5, isDto: true, attempt: 0 }, thread: { product: 42, isDto: true, inThread: true }, invalidRejected: true, filter: 'function' },
    core: 42,
    fakeEnqueued: 1,
  });
  if (JSON.stringify(report) !== expected) {
    console.error(`expected ${expected}`);
    process.exit(1);
  }
}

// NOTE: pool threads import this file for AppModule; only the main thread runs the app.
if (isMainThread) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
