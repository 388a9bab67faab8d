import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStemAdapters, type StemAdapters } from '../../lib/adapters/stem-adapters.factory.js';
import { migratePostgres } from '../../lib/adapters/postgres/index.js';
import { BroadcastControlChannel, ControlClient, Stem, type TaskState } from '../../lib/core/index.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { FixtureProcess } from '../redis/child-process.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/control-worker.ts', import.meta.url));
const prefix = uniquePrefix('cpctl');
const schema = testSchema();
const targets = [
  { name: 'Redis', available: await redisAvailable(), url: `${REDIS_URL}?prefix=${prefix}`, cleanup: () => deleteKeys(REDIS_URL, prefix), setup: async () => undefined },
  {
    name: 'Postgres',
    available: await postgresAvailable(),
    url: `${POSTGRES_URL}?schema=${schema}`,
    cleanup: () => dropSchema(schema),
    setup: async () => void (await migratePostgres(POSTGRES_URL, { schema, logger: recordingLogger() })),
  },
];

for (const target of targets) {
  describe.runIf(target.available)(`worker control across processes on ${target.name}`, { timeout: 90_000 }, () => {
    const queue = uniqueName('cpq');
    const queueB = uniqueName('cpqb');
    const ids = ['cp-w1', 'cp-w2', 'cp-w3'];
    const procs = new Map<string, FixtureProcess>();
    let adapters: StemAdapters;
    let stem: Stem;
    let control: ControlClient;

    const startWorkers = async (which = ids) => {
      for (const id of which) procs.set(id, FixtureProcess.startFile(FIXTURE, { STEM_BROKER_URL: target.url, STEM_QUEUE: queue, STEM_QUEUE_B: queueB, STEM_WORKER_ID: id }));
      await Promise.all(which.map((id) => procs.get(id)!.waitForLine((l) => l === `ready ${id}`, 45_000)));
    };
    const stopWorkers = async () => {
      await Promise.all([...procs.values()].map((p) => p.kill('SIGTERM')));
      procs.clear();
    };
    const started = () => new Set([...procs.values()].flatMap((p) => p.lines.filter((l) => l.startsWith('started ')).map((l) => l.slice(8))));
    /** Resolves once every id has reached `state` (event-driven: one watch per task). */
    const reach = async (taskIds: readonly string[], state: TaskState, ms = 30_000) => {
      const backend = adapters.backend!;
      await Promise.all(
        taskIds.map(async (id) => {
          let done!: () => void;
          const reached = new Promise<void>((resolve) => (done = resolve));
          const watch = await backend.watch(id, (s) => s.state === state && done());
          if ((await backend.get(id))?.state === state) done();
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`task ${id} did not reach ${state} within ${ms} ms`)), ms)));
          try {
            await Promise.race([reached, timeout]);
          } finally {
            clearTimeout(timer);
            await watch.close();
          }
        }),
      );
    };

    beforeAll(async () => {
      await target.setup();
      adapters = await createStemAdapters({ broker: target.url });
      stem = Stem.fromParts({
        broker: adapters.broker,
        backend: adapters.backend ?? undefined,
        remoteTasks: [
          { name: 'cp.job', options: { queue } },
          { name: 'cp.other', options: { queue: queueB } },
        ],
      });
      control = new ControlClient({ channel: new BroadcastControlChannel(adapters.broker as never), store: adapters.revokeStore!, requestedBy: 'cross-process-test' });
      await startWorkers();
    }, 60_000);
    afterAll(async () => {
      for (const p of procs.values()) await p.kill('SIGKILL');
      await adapters?.close();
      await target.cleanup();
    });

    it('ping gets one reply from each of the 3 worker processes, and ls lists them', async () => {
      const replies = await control.ping({ timeout: 10_000, expect: 3 });
      expect(replies.map((r) => r.workerId)).toEqual(ids);
      expect(new Set(replies.map((r) => (r.payload as { at: number }).at > 0))).toEqual(new Set([true]));
      expect((await control.listWorkers()).map((w) => w.workerId).filter((id) => ids.includes(id))).toEqual(ids);
    });

    it('none of 50 queued and 50 delayed revoked tasks runs; they end cancelled', async () => {
      await control.pause(queue, { timeout: 10_000, expect: 3 });
      const queued = await Promise.all(Array.from({ length: 50 }, () => stem.enqueue('cp.job', { ms: 10 })));
      const delayed = await Promise.all(Array.from({ length: 50 }, () => stem.enqueue('cp.job', { ms: 10 }, { delay: 1_500 })));
      const { persisted, replies } = await control.revoke([...queued, ...delayed], { reason: 'bulk', timeout: 10_000, expect: 3 });
      expect(persisted).toBe(100);
      expect(replies.map((r) => r.workerId)).toEqual(ids);
      await control.resume(queue, { timeout: 10_000, expect: 3 });
      await reach([...queued, ...delayed], 'cancelled');
      const ran = started();
      expect([...queued, ...delayed].filter((id) => ran.has(id))).toEqual([]);
      expect((await adapters.backend!.get(delayed[0]!))?.meta).toMatchObject({ 'stem.revoked.reason': 'bulk', 'stem.revoked.by': 'cross-process-test' });
    });

    it('terminate ends a running task that honours ctx.signal cancelled within 1 s', async () => {
      const id = await stem.enqueue('cp.job', { ms: 60_000 });
      const runner = await Promise.race(
        ids.map((w) =>
          procs
            .get(w)!
            .waitForLine((l) => l === `started ${id}`, 30_000)
            .then(() => w),
        ),
      );
      const sent = Date.now();
      const { replies } = await control.revoke([id], { terminate: true, reason: 'stuck', timeout: 10_000, expect: 3 });
      expect(replies.find((r) => r.workerId === runner)?.payload).toMatchObject({ terminated: [id] });
      await reach([id], 'cancelled', 5_000);
      expect(Date.now() - sent).toBeLessThan(1_000);
      expect(procs.get(runner)!.lines).toContain(`aborted ${id}`);
    });

    it('a revoke issued while every worker is down holds after they restart, and a pause survives the restart', async () => {
      await control.pause(queueB, { timeout: 10_000, expect: 3 });
      await stopWorkers();
      const revoked = await stem.enqueue('cp.job', { ms: 10 });
      const kept = await stem.enqueue('cp.job', { ms: 10 });
      const parked = await stem.enqueue('cp.other', {});
      const { replies } = await control.revoke([revoked], { reason: 'while down', timeout: 300 });
      expect(replies).toEqual([]);
      await startWorkers();
      await reach([revoked], 'cancelled');
      await reach([kept], 'succeeded');
      expect(started().has(revoked)).toBe(false);
      const inspect = await control.inspect({ timeout: 10_000, expect: 3 });
      expect(inspect.map((r) => r.payload?.pausedQueues)).toEqual([[queueB], [queueB], [queueB]]);
      expect((await adapters.backend!.get(parked))?.state).toBe('queued');
      await control.resume(queueB, { timeout: 10_000, expect: 3 });
      await reach([parked], 'succeeded');
    });

    it('shutdown of one named worker drains it, closes its Nest app, and leaves the others running', async () => {
      const target2 = procs.get('cp-w2')!;
      const replies = await control.shutdown({ workers: ['cp-w2'], timeout: 10_000 });
      expect(replies.map((r) => r.workerId)).toEqual(['cp-w2']);
      await target2.exited;
      expect(target2.child.exitCode === 0 || target2.child.signalCode === 'SIGTERM').toBe(true);
      expect((await control.ping({ timeout: 2_000, expect: 2 })).map((r) => r.workerId)).toEqual(['cp-w1', 'cp-w3']);
      const id = await stem.enqueue('cp.job', { ms: 10 });
      await reach([id], 'succeeded');
    });
  });
}
