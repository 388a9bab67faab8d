import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type EnqueueDraft, STEM_RESULT_BACKEND, type ResultBackend, StemClient, StemMiddleware, StemModule, Task, type TaskContext, type TaskRun } from 'nestjs-stem';
import { SimpleTaskRegistry, Stem, type StemMiddleware as CoreMiddleware, Worker } from 'nestjs-stem/core';
import { InMemoryBroker, InMemoryResultBackend } from 'nestjs-stem/memory';

// #region core
// Without Nest: a plain object, given to the producer and the worker.
const requestId: CoreMiddleware = {
  name: 'request-id',
  onEnqueue(draft, next) {
    draft.headers['x-request-id'] ??= 'req-42'; // published (and signed) with the task
    return next();
  },
  onError(run, error) {
    console.log(`${run.envelope.name} #${run.envelope.attempt} failed: ${(error as Error).message}`);
  },
};

const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend();
const registry = new SimpleTaskRegistry([
  {
    name: 'echo.request',
    options: { maxRetries: 1, retryPolicy: { backoff: 10 } },
    call: (ctx) => {
      if (ctx.attempt === 0) throw new Error('cold cache'); // onError sees it, then it is retried
      return ctx.headers['x-request-id'];
    },
  },
]);
const stem = new Stem({ broker, backend, registry, middleware: [requestId] });
const worker = new Worker({ broker, backend, registry, producer: stem, middleware: [requestId] });
// #endregion

await worker.start();
const id = await stem.enqueue('echo.request', {});
console.log((await stem.waitForTask<string>(id, { timeout: 5_000 })).value);
await worker.close();

// #region nest
@Injectable()
export class Tenancy {
  current(): string {
    return 'acme'; // e.g. from AsyncLocalStorage
  }
}

// Discovered at bootstrap like @Task(); its dependencies are injected.
@StemMiddleware()
@Injectable()
export class TenantAndTiming implements StemMiddleware {
  constructor(private readonly tenancy: Tenancy) {}

  async onEnqueue(draft: EnqueueDraft, next: () => Promise<string>): Promise<string> {
    draft.headers['x-tenant'] = this.tenancy.current();
    return next();
  }

  async onExecute(run: TaskRun, next: () => Promise<unknown>): Promise<unknown> {
    const started = performance.now();
    try {
      return await next();
    } finally {
      run.statusMeta['app.durationMs'] = Math.round(performance.now() - started); // stored with the outcome
    }
  }
}

@Injectable()
export class InvoiceTasks {
  @Task({ name: 'invoice.render' })
  async render(args: { id: number }, ctx: TaskContext): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, 20));
    return `invoice ${args.id} for ${ctx.headers['x-tenant']}`;
  }
}

@Module({
  imports: [StemModule.forRoot({ broker: 'memory://' })],
  providers: [Tenancy, TenantAndTiming, InvoiceTasks],
})
export class InvoicesModule {}
// #endregion

const app = await NestFactory.createApplicationContext(InvoicesModule, { logger: false });
const client = app.get(StemClient);
const invoice = await client.enqueue('invoice.render', { id: 7 });
console.log((await client.waitForTask<string>(invoice, { timeout: 5_000 })).value);
const status = await app.get<ResultBackend>(STEM_RESULT_BACKEND).get(invoice);
console.log(typeof status?.meta['app.durationMs']);
await app.close();
