import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresBroker, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { PublishOutcomeUnknownError } from '../../lib/core/errors/publish.error.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { Worker } from '../../lib/core/worker/worker.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { eventually, recordingLogger, testSchema } from './postgres-test-kit.js';
import { PrivatePostgres, serverTooling } from './private-postgres.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const tooling = await serverTooling();

describe.runIf(tooling)('Postgres server restart under a running worker', () => {
  let server: PrivatePostgres | undefined;
  beforeAll(async () => {
    server = await PrivatePostgres.create(tooling!);
  }, 30_000);
  afterAll(async () => {
    await server?.destroy();
  });

  it.each(['fast', 'immediate'] as const)(
    '%s shutdown: loses no acknowledged task, and the worker resumes by itself',
    async (mode) => {
      const db = server!;
      const queue = uniqueName(`pg-restart-${mode}`);
      const logger = recordingLogger();
      const options = { schema: testSchema(), logger };
      /** Completed handler runs per task id. */
      const runs = new Map<string, number>();
      const registry = new SimpleTaskRegistry([
        {
          name: 'restart.work',
          call: async (ctx) => {
            await sleep(25);
            runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1);
            return ctx.id;
          },
        },
      ]);
      // A long safety poll: after the restart, only the reconnected LISTEN (and the consumer's
      // own retry) can wake an idle worker quickly.
      const broker = await PostgresBroker.connect(db.url, { ...options, pollInterval: 10_000 });
      const backend = await PostgresResultBackend.connect(db.url, options);
      const worker = new Worker({ broker, backend, registry, queues: [queue], concurrency: 10 });
      const stem = new Stem({ broker, backend, registry });

      /** Ids the worker fetched (prefetched deliveries included), started, and acknowledged. */
      const fetched = new Set<string>();
      const received = new Set<string>();
      const acked = new Set<string>();
      // NOTE: a prefetched delivery is held (leased, unacked) before it starts: it is in flight too.
      const consume = broker.consume.bind(broker);
      broker.consume = (consumeOptions) => {
        const consumer = consume(consumeOptions);
        const fetch = consumer.fetch.bind(consumer);
        consumer.fetch = async (max, signal) => {
          const deliveries = await fetch(max, signal);
          for (const delivery of deliveries) fetched.add(delivery.envelope.id);
          return deliveries;
        };
        return consumer;
      };
      const workerErrors: string[] = [];
      worker.signals.on('task-received', ({ envelope: env }) => void received.add(env.id));
      worker.signals.on('worker-error', ({ error }) => void workerErrors.push(error instanceof Error ? error.message : String(error)));
      const ack = broker.ack.bind(broker);
      broker.ack = async (delivery) => {
        await ack(delivery);
        acked.add(delivery.envelope.id);
      };

      /** Ids whose enqueue succeeded, and whether the server was back when the enqueue started. */
      const enqueued: { id: string; afterRestart: boolean }[] = [];
      const failedEnqueues: string[] = [];
      /** Ids sent again after a publish whose outcome was unknown (they may run twice). */
      const resent = new Set<string>();
      let phase: 'before' | 'down' | 'after' = 'before';
      // As a user should: a publish cut off mid-flight is retried under the same task id; one
      // that certainly stored nothing may take a new id.
      const enqueueWithRetry = async (i: number) => {
        let taskId: string | undefined;
        for (let attempt = 1; ; attempt++) {
          const afterRestart = phase === 'after';
          try {
            const id = await stem.enqueue('restart.work', { i }, { queue, visibilityTimeout: 3_000, ...(taskId ? { taskId } : {}) });
            enqueued.push({ id, afterRestart });
            return;
          } catch (error) {
            failedEnqueues.push(error instanceof Error ? error.message : String(error));
            if (error instanceof PublishOutcomeUnknownError) {
              taskId = error.taskIds[0];
              resent.add(taskId!);
            }
            if (attempt >= 20) throw error;
            await sleep(200);
          }
        }
      };

      let unsettledAtCrash = new Set<string>();
      let doneBeforeCrash = 0;
      const diagnose = async () =>
        [
          `mode=${mode} enqueued=${enqueued.length} ran=${runs.size} fetched=${fetched.size} received=${received.size} acked=${acked.size}`,
          `unsettled at crash=${unsettledAtCrash.size} resent=${resent.size} failed enqueues=${failedEnqueues.length}: ${[...new Set(failedEnqueues)].slice(0, 5).join(' | ')}`,
          `worker errors (${workerErrors.length}): ${[...new Set(workerErrors)].slice(0, 8).join(' | ')}`,
          `adapter log:\n${logger.lines.slice(-20).join('\n')}`,
          `server log:\n${await db.logTail(15)}`,
        ].join('\n');

      try {
        await worker.start();
        const producers: Promise<void>[] = [];
        const restart = (async () => {
          await eventually(() => runs.size >= 60, 10_000);
          const stopping = db.stop(mode);
          // A burst while the server goes down, so some statements are cut off mid-flight.
          for (let k = 0; k < 40; k++) {
            producers.push(enqueueWithRetry(500 + k));
            if (k % 4 === 3) await sleep(1);
          }
          await stopping;
          phase = 'down';
          // Nothing can be claimed or acked while the server is down: what was fetched and not
          // acked (running, or prefetched and not started yet) is exactly what was in flight at the crash.
          doneBeforeCrash = runs.size;
          unsettledAtCrash = new Set([...fetched].filter((id) => !acked.has(id)));
          await sleep(1_000);
          await db.start();
          phase = 'after';
        })();
        restart.catch(() => undefined);

        for (let i = 0; i < 300; i++) {
          producers.push(enqueueWithRetry(i));
          await sleep(8);
        }
        await restart;
        // A last batch enqueued with the server certainly back.
        for (let i = 300; i < 330; i++) producers.push(enqueueWithRetry(i));
        await Promise.all(producers);

        const ids = enqueued.map((e) => e.id);
        const allRan = await eventually(() => ids.every((id) => runs.has(id)), 8_000);
        if (!allRan) throw new Error(`Tasks were lost: ${ids.filter((id) => !runs.has(id)).length} never ran\n${await diagnose()}`);
        expect(doneBeforeCrash, 'the server went down mid-run').toBeLessThan(ids.length);
        expect(enqueued.filter((e) => e.afterRestart).length, 'tasks enqueued after the restart').toBeGreaterThan(0);

        // An enqueue that reported "nothing was enqueued" really enqueued nothing: no other task ran.
        const known = new Set(ids);
        expect(
          [...runs.keys()].filter((id) => !known.has(id)),
          await diagnose(),
        ).toEqual([]);

        // NOTE: a handler records its run before the worker writes `succeeded`, so the statuses
        // of the last tasks to run may still be on their way.
        const notSucceeded = async () => {
          const statuses = await Promise.all(ids.map((id) => backend.get(id)));
          return statuses.map((s, i) => [ids[i], s?.state ?? 'missing'] as const).filter(([, state]) => state !== 'succeeded');
        };
        await eventually(async () => (await notSucceeded()).length === 0, 5_000);
        expect(await notSucceeded(), await diagnose()).toEqual([]);

        // At least once: only deliveries that were unsettled when the server went down, or tasks
        // sent again after a publish cut off mid-flight, may run twice.
        const duplicates = [...runs].filter(([, n]) => n > 1).map(([id]) => id);
        expect(
          duplicates.filter((id) => !unsettledAtCrash.has(id) && !resent.has(id)),
          await diagnose(),
        ).toEqual([]);
        expect(duplicates.length).toBeLessThanOrEqual(unsettledAtCrash.size + resent.size);

        // Every row is settled: nothing left claimed or queued, nothing dead-lettered.
        const count = async (table: string) =>
          (await broker.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${broker.schema}".${table} WHERE queue = $1`, [queue])).rows[0]!.n;
        const settled = await eventually(async () => (await count('jobs')) === 0, 5_000);
        expect({ settled, dead: await count('dead_letters') }, await diagnose()).toEqual({ settled: true, dead: 0 });

        // The same worker still wakes on NOTIFY: with a 10 s safety poll, only the restored LISTEN
        // connection gets these done this fast.
        expect(
          logger.lines.some((l) => /LISTEN connection restored/.test(l)),
          await diagnose(),
        ).toBe(true);
        const probe = await Promise.all(Array.from({ length: 5 }, (_, i) => stem.enqueue('restart.work', { i: 1_000 + i }, { queue })));
        expect(await eventually(() => probe.every((id) => runs.has(id)), 3_000), await diagnose()).toBe(true);

        console.info(
          `[postgres-restart ${mode}] enqueued=${ids.length} (after restart ${enqueued.filter((e) => e.afterRestart).length}), ` +
            `failed enqueues retried=${failedEnqueues.length} (resent under the same id ${resent.size}), done before crash=${doneBeforeCrash}, in flight at crash=${unsettledAtCrash.size}, ` +
            `duplicates=${duplicates.length}, worker errors=${workerErrors.length}`,
        );
      } finally {
        await worker.close({ mode: 'hard' });
        await Promise.all([broker.close(), backend.close()]);
      }
    },
    30_000,
  );
});
