import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migratePostgres, PostgresBroker, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { type Broker, type ResultBackend, SimpleTaskRegistry, Stem } from '../../lib/core/index.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { dropSchema, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { POSTGRES_URL, postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';
import { memoryTracing, named, type SpanRecord } from '../support/tracing.js';

const REGISTER = fileURLToPath(new URL('../support/register-ts.mjs', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

/** The worker fixture as a child process; collects the spans it prints. */
class WorkerProcess {
  readonly spans: SpanRecord[] = [];
  readonly exited: Promise<number | null>;
  private ready = false;
  private output = '';
  private readonly child: ChildProcess;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', REGISTER, WORKER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('span ')) this.spans.push(JSON.parse(line.slice(5)) as SpanRecord);
        else if (line === 'ready') this.ready = true;
        else this.output += `${line}\n`;
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async started(): Promise<void> {
    await expect.poll(() => this.ready || this.child.exitCode !== null, { timeout: 20_000 }).toBe(true);
    if (!this.ready) throw new Error(`The worker process exited before it was ready:\n${this.output}`);
  }

  /** The `process` spans it finished for task `id`, by attempt. */
  async attemptsOf(id: string, count: number): Promise<SpanRecord[]> {
    const of = () => this.spans.filter((s) => s.kind === 'consumer' && s.attributes['messaging.message.id'] === id);
    await expect.poll(() => of().length, { timeout: 15_000 }).toBe(count);
    return of().sort((a, b) => Number(a.attributes['stem.task.attempt']) - Number(b.attributes['stem.task.attempt']));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

interface Store {
  readonly adapter: 'redis' | 'postgres';
  readonly env: Record<string, string>;
  connect(): Promise<{ broker: Broker; backend: ResultBackend }>;
}

const redisUp = await redisAvailable();
const postgresUp = await postgresAvailable();
const prefix = uniquePrefix('xt');
const schema = testSchema();

const stores: (Store & { available: boolean; setup: () => Promise<void>; teardown: () => Promise<void> })[] = [
  {
    adapter: 'redis',
    available: redisUp,
    env: { STEM_ADAPTER: 'redis', STEM_URL: REDIS_URL, STEM_PREFIX: prefix },
    connect: async () => ({ broker: await RedisStreamsBroker.connect(REDIS_URL, { prefix }), backend: await RedisResultBackend.connect(REDIS_URL, { prefix }) }),
    setup: async () => {},
    teardown: () => deleteKeys(REDIS_URL, prefix),
  },
  {
    adapter: 'postgres',
    available: postgresUp,
    env: { STEM_ADAPTER: 'postgres', STEM_URL: POSTGRES_URL, STEM_SCHEMA: schema },
    connect: async () => ({ broker: await PostgresBroker.connect(POSTGRES_URL, { schema }), backend: await PostgresResultBackend.connect(POSTGRES_URL, { schema }) }),
    setup: async () => {
      await migratePostgres(POSTGRES_URL, { schema, logger: recordingLogger() });
    },
    teardown: () => dropSchema(schema),
  },
];

for (const store of stores) {
  describe.runIf(store.available)(`Tracing across processes on ${store.adapter}`, () => {
    const workers: WorkerProcess[] = [];
    const opened: (() => Promise<unknown>)[] = [];
    beforeAll(store.setup);
    afterEach(async () => {
      await Promise.all(workers.splice(0).map((w) => w.stop()));
      for (const close of opened.splice(0)) await close();
    });
    afterAll(store.teardown);

    async function producer() {
      const tracing = memoryTracing();
      const { broker, backend } = await store.connect();
      opened.push(
        () => broker.close(),
        () => backend.close(),
        () => tracing.provider.shutdown(),
      );
      const stem = new Stem({ broker, backend, registry: new SimpleTaskRegistry(), tracing: { tracerProvider: tracing.provider } });
      return { stem, spans: tracing.spans };
    }

    it("a task enqueued here and run in a worker process shares one trace; the process span's parent is the send span", async () => {
      const queue = uniqueName('xt');
      const worker = new WorkerProcess({ ...store.env, STEM_QUEUE: queue });
      workers.push(worker);
      const { stem, spans } = await producer();
      await worker.started();
      const id = await stem.enqueue('xt.ok', { n: 21 }, { queue });
      expect((await stem.waitForTask(id, { timeout: 15_000 })).value).toBe(42);
      const [send] = named(spans(), `send ${queue}`);
      const [attempt] = await worker.attemptsOf(id, 1);
      expect(attempt).toMatchObject({ name: `process ${queue}`, traceId: send!.traceId, parentSpanId: send!.spanId, status: 0 });
      expect(attempt!.attributes).toMatchObject({ 'messaging.system': 'stem', 'messaging.destination.name': queue, 'messaging.message.id': id, 'stem.task.state': 'succeeded' });
      expect(String(attempt!.attributes['messaging.client.id'])).toMatch(/^xt-worker-\d+$/);
    }, 60_000);

    it("a retried task's attempts in the worker process are siblings under the one send span", async () => {
      const queue = uniqueName('xt');
      const worker = new WorkerProcess({ ...store.env, STEM_QUEUE: queue });
      workers.push(worker);
      const { stem, spans } = await producer();
      await worker.started();
      const id = await stem.enqueue('xt.flaky', {}, { queue });
      expect((await stem.waitForTask(id, { timeout: 15_000 })).status?.state).toBe('succeeded');
      const sends = named(spans(), `send ${queue}`);
      expect(sends).toHaveLength(1);
      const attempts = await worker.attemptsOf(id, 2);
      expect(attempts.map((a) => [a.traceId, a.parentSpanId, a.status, a.attributes['stem.task.state']])).toEqual([
        [sends[0]!.traceId, sends[0]!.spanId, 2, 'retried'],
        [sends[0]!.traceId, sends[0]!.spanId, 0, 'succeeded'],
      ]);
      expect(attempts[0]!.attributes['error.type']).toBe('Error');
    }, 60_000);
  });
}
