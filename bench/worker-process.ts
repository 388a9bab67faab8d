import { Worker as BullWorker } from 'bullmq';
import { Logger as GraphileLogger, run as runGraphile } from 'graphile-worker';
import { PostgresBroker, PostgresResultBackend } from '../lib/adapters/postgres/index.js';
import { RedisResultBackend, RedisStreamsBroker } from '../lib/adapters/redis/index.js';
import { SimpleTaskRegistry, Worker } from '../lib/core/index.js';

/**
 * One worker process of the scaling benchmark: `node worker-process.js <kind> <url> <namespace>
 * <queue> <concurrency>`, kind `stem-redis`, `bullmq`, `stem-postgres` or `graphile`. It reports
 * `ready` over IPC, starts its worker on `go`, reports `{ done }` (tasks finished so far) every
 * 50 ms, and exits on `stop`.
 */
const [kind, url, namespace, queue, concurrencyText] = process.argv.slice(2) as [string, string, string, string, string];
const concurrency = Number(concurrencyText);
let done = 0;
const finished = () => void done++;
const send = (message: unknown) => process.send?.(message);

type Runner = { start(): Promise<void>; stop(): Promise<void> };

async function stemRunner(connect: () => Promise<{ broker: RedisStreamsBroker | PostgresBroker; backend: RedisResultBackend | PostgresResultBackend }>): Promise<Runner> {
  const { broker, backend } = await connect();
  const registry = new SimpleTaskRegistry([{ name: 'noop', call: (_ctx, args: { i: number }) => args.i }]);
  const worker = new Worker({ broker, backend, registry, queues: [queue], concurrency });
  worker.signals.on('task-succeeded', () => finished());
  return {
    start: () => worker.start(),
    async stop() {
      await worker.close();
      await broker.close();
      await backend.close();
    },
  };
}

async function bullRunner(): Promise<Runner> {
  const { hostname, port } = new URL(url);
  const connection = { host: hostname, port: Number(port || 6379), maxRetriesPerRequest: null };
  let worker: BullWorker | undefined;
  return {
    async start() {
      worker = new BullWorker(queue, async (job) => (job.data as { i: number }).i, { connection, prefix: namespace, concurrency });
      worker.on('completed', finished);
      await worker.waitUntilReady();
    },
    async stop() {
      await worker?.close();
    },
  };
}

async function graphileRunner(): Promise<Runner> {
  const quiet = new GraphileLogger(() => (level: string, message: string) => {
    if (level === 'error') console.error(message);
  });
  let runner: Awaited<ReturnType<typeof runGraphile>> | undefined;
  return {
    async start() {
      runner = await runGraphile({
        connectionString: url,
        schema: namespace,
        concurrency,
        noHandleSignals: true,
        pollInterval: 1_000,
        logger: quiet,
        taskList: { noop: async () => finished() },
      });
    },
    async stop() {
      await runner?.stop();
    },
  };
}

const quietPg = { info: () => undefined, warn: (m: string) => console.warn(m) };
const runners: Record<string, () => Promise<Runner>> = {
  'stem-redis': () =>
    stemRunner(async () => ({ broker: await RedisStreamsBroker.connect(url, { prefix: namespace }), backend: await RedisResultBackend.connect(url, { prefix: namespace }) })),
  bullmq: bullRunner,
  'stem-postgres': () =>
    stemRunner(async () => {
      const options = { schema: namespace, logger: quietPg, pool: { max: 10 } };
      return { broker: await PostgresBroker.connect(url, options), backend: await PostgresResultBackend.connect(url, options) };
    }),
  graphile: graphileRunner,
};

const runner = await runners[kind]!();
const reporter = setInterval(() => send({ done }), 50);
process.on('message', (message) => {
  if (message === 'go') void runner.start();
  if (message === 'stop') {
    clearInterval(reporter);
    void runner.stop().finally(() => process.exit(0));
  }
});
send('ready');
