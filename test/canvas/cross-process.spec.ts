import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Canvas, SimpleTaskRegistry, Stem, task } from '../../lib/core/index.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { dropSchema, POSTGRES_URL, testSchema } from '../postgres/postgres-test-kit.js';
import { FixtureProcess } from '../redis/child-process.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';
import { openStores } from './fixtures/stores.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));
const prefix = uniquePrefix('canvas-xp');
const schema = testSchema();
const targets: { name: string; available: boolean; env: Record<string, string> }[] = [
  { name: 'redis', available: await redisAvailable(), env: { STEM_STORE: 'redis', STEM_URL: REDIS_URL, STEM_PREFIX: prefix } },
  { name: 'postgres', available: await postgresAvailable(), env: { STEM_STORE: 'postgres', STEM_URL: POSTGRES_URL, STEM_SCHEMA: schema } },
];

afterAll(async () => {
  if (targets[0]!.available) await deleteKeys(REDIS_URL, prefix);
  if (targets[1]!.available) await dropSchema(schema);
});

for (const target of targets) {
  describe.runIf(target.available)(`Canvas across processes: ${target.name}`, () => {
    const processes: FixtureProcess[] = [];
    const closers: (() => Promise<void>)[] = [];
    afterEach(async () => {
      await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
      for (const close of closers.splice(0)) await close();
    });
    const start = (name: string, env: Record<string, string>) => {
      const p = FixtureProcess.startFile(fixture(name), { ...target.env, ...env });
      processes.push(p);
      return p;
    };
    const producer = async () => {
      const stores = await openStores(target.env);
      closers.push(() => stores.close());
      return { ...stores, canvas: new Canvas(new Stem({ ...stores, registry: new SimpleTaskRegistry() })) };
    };

    it('group.results() yields, in completion order, the results a worker process recorded', async () => {
      const queue = uniqueName('xp');
      const { canvas } = await producer();
      const worker = start('canvas-worker', { STEM_QUEUE: queue });
      await worker.waitForLine((l) => l === 'ready', 20_000);
      const group = await canvas.group([
        task('xp.sleepy', { ms: 1_400 }, { queue }),
        task('xp.sleepy', { ms: 0, fail: true }, { queue }),
        task('xp.sleepy', { ms: 700 }, { queue }),
      ]);
      const seen: [number, string, unknown][] = [];
      for await (const r of group.results({ timeout: 15_000 })) seen.push([r.index, r.state, r.value ?? r.error?.message]);
      expect(seen).toEqual([
        [1, 'failed', 'slept 0 ms and failed'],
        [2, 'succeeded', { ms: 700, pid: worker.pid }],
        [0, 'succeeded', { ms: 1_400, pid: worker.pid }],
      ]);
    }, 40_000);

    it('creates and enqueues a batch once when several processes submit it at the same moment', async () => {
      const queue = uniqueName('xp');
      const batchId = uniqueName('batch');
      const env = { STEM_QUEUE: queue, STEM_BATCH_ID: batchId, STEM_COUNT: '4' };
      const submitters = [start('canvas-submit', env), start('canvas-submit', env)];
      await Promise.all(submitters.map((p) => p.waitForLine((l) => l === 'ready', 20_000)));
      for (const p of submitters) p.child.kill('SIGUSR2');
      const outcomes = await Promise.all(submitters.map(async (p) => JSON.parse(await p.waitForLine((l) => l.startsWith('{'), 20_000)) as { created: boolean; taskIds: string[] }));
      expect(outcomes.filter((o) => o.created)).toHaveLength(1);
      for (const o of outcomes) expect(o.taskIds).toEqual(outcomes[0]!.taskIds);
      const { broker, canvas } = await producer();
      const again = await canvas.submitBatch(
        Array.from({ length: 4 }, (_, i) => task('xp.sleepy', { ms: i }, { queue })),
        { batchId },
      );
      expect(again).toMatchObject({ created: false, taskIds: outcomes[0]!.taskIds });
      expect(await broker.pendingCount(queue)).toBe(4);
      expect(await canvas.inspectBatch(batchId)).toMatchObject({ state: 'pending', counts: { queued: 4 } });
    }, 40_000);
  });
}
