import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StemWorkflowApp } from '../../lib/adapters/memory/index.js';
import { PostgresBroker, PostgresWorkflowStore } from '../../lib/adapters/postgres/index.js';
import { RedisStreamsBroker, RedisWorkflowStore } from '../../lib/adapters/redis/index.js';
import { runCli } from '../../lib/cli/index.js';
import { WorkflowScript } from '../../lib/core/workflow/index.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { dropSchema, testSchema } from '../postgres/postgres-test-kit.js';
import { POSTGRES_URL, postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

const backends = [
  {
    name: 'redis',
    available: await redisAvailable(),
    setup: async () => {
      const prefix = uniquePrefix('cli-wf');
      return {
        url: `${REDIS_URL}?prefix=${prefix}`,
        broker: await RedisStreamsBroker.connect(REDIS_URL, { prefix }),
        store: await RedisWorkflowStore.connect(REDIS_URL, { prefix }),
        cleanup: () => deleteKeys(REDIS_URL, prefix),
      };
    },
  },
  {
    name: 'postgres',
    available: await postgresAvailable(),
    setup: async () => {
      const schema = testSchema();
      return {
        url: `${POSTGRES_URL}?schema=${schema}`,
        broker: await PostgresBroker.connect(POSTGRES_URL, { schema }),
        store: await PostgresWorkflowStore.connect(POSTGRES_URL, { schema }),
        cleanup: () => dropSchema(schema),
      };
    },
  },
];

for (const backend of backends) {
  describe.runIf(backend.available)(`stem wf on ${backend.name}`, () => {
    const workflow = uniqueName('cli.order');
    const topic = uniqueName('cli.shipped');
    const queue = uniqueName('cli-wf');
    let app: StemWorkflowApp;
    let env: Record<string, string>;
    let cleanup: () => Promise<void>;
    const cli = async (...argv: string[]) => {
      const c = capture();
      const code = await runCli(['wf', ...argv], c.io, env);
      return { code, out: c.out.join('\n'), err: c.err.join('\n') };
    };

    beforeAll(async () => {
      const parts = await backend.setup();
      cleanup = parts.cleanup;
      env = { STEM_BROKER_URL: parts.url };
      app = await StemWorkflowApp.create(
        { broker: parts.broker, store: parts.store },
        {
          queue,
          scripts: [
            new WorkflowScript<{ orderId: string }>({
              name: workflow,
              run: async (ctx) => {
                const reserved = await ctx.step('reserve', () => `reserved ${ctx.params.orderId}`);
                const shipped = await ctx.awaitEvent<{ tracking: string }>(topic);
                return await ctx.step('notify', () => `${reserved}, shipped ${shipped?.tracking}`);
              },
            }),
          ],
        },
      );
    }, 30_000);
    afterAll(async () => {
      await app?.shutdown();
      await cleanup?.();
    });

    it('starts a run, lists it waiting, emits the event, shows its checkpoints, rewinds it', async () => {
      const started = await cli('start', workflow, '-p', '{"orderId":"42"}', '--queue', queue, '--json');
      expect(started.code).toBe(0);
      const { runId } = JSON.parse(started.out) as { runId: string };
      await expect.poll(async () => (await app.store.get(runId))?.status, { timeout: 15_000 }).toBe('suspended');

      const ls = await cli('ls', '--workflow', workflow);
      expect(ls.code).toBe(0);
      expect(ls.out.split('\n')[0]).toMatch(/^RUN ID\s+WORKFLOW\s+STATUS\s+STEPS/);
      expect(ls.out).toMatch(new RegExp(`${runId}\\s+${workflow.replace(/\./g, '\\.')}\\s+suspended\\s+1\\s`));
      expect(ls.out).toContain(`event ${topic}`);

      const waiters = await cli('waiters', '--topic', topic, '--json');
      expect(JSON.parse(waiters.out)).toEqual([expect.objectContaining({ runId, topic, workflow, step: '$awaitEvent#0' })]);

      const emitted = await cli('emit', topic, '-p', '{"tracking":"T1"}', '--queue', queue);
      expect(emitted).toMatchObject({ code: 0, out: `Emitted "${topic}": 1 run(s) resumed.` });
      const done = await app.waitForCompletion(runId, { timeout: '15s' });
      expect(done.value).toBe('reserved 42, shipped T1');

      const show = await cli('show', runId);
      expect(show.code).toBe(0);
      expect(show.out).toMatch(/Status:\s+completed/);
      expect(show.out).toMatch(/Params:\s+\{"orderId":"42"\}/);
      expect(show.out).toMatch(/0\s+reserve#0\s+\S+Z\s+"reserved 42"/);
      expect(show.out).toMatch(/1\s+\$awaitEvent#0\s+\S+Z\s+\{"tracking":"T1"\}/);

      const dry = await cli('rewind', runId, '--step', '$awaitEvent', '--dry-run', '--json');
      expect(JSON.parse(dry.out)).toEqual({ runId, step: '$awaitEvent', wouldRunAgain: ['$awaitEvent#0', 'notify#0'] });
      expect((await app.store.get(runId))?.status).toBe('completed');

      const notifiedAt = (await app.store.readStep(runId, 'notify#0'))!.completedAt;
      const rewound = await cli('rewind', runId, '--step', 'notify', '--queue', queue);
      expect(rewound.code).toBe(0);
      await expect.poll(async () => (await app.store.get(runId))?.status, { timeout: 15_000 }).toBe('completed');
      expect((await app.store.listSteps(runId)).map((s) => s.name)).toEqual(['reserve#0', '$awaitEvent#0', 'notify#0']);
      expect((await app.store.readStep(runId, 'notify#0'))!.completedAt).toBeGreaterThanOrEqual(notifiedAt);
      expect((await app.store.readStep(runId, 'reserve#0'))!.value).toBe('reserved 42');
    }, 60_000);

    it('cancels a waiting run with a reason; cancelling again, or an unknown run, exits 1', async () => {
      const { out } = await cli('start', workflow, '-p', '{"orderId":"7"}', '--queue', queue, '--json');
      const { runId } = JSON.parse(out) as { runId: string };
      await expect.poll(async () => (await app.store.get(runId))?.status, { timeout: 15_000 }).toBe('suspended');
      expect(await cli('cancel', runId, '--reason', 'customer asked')).toMatchObject({ code: 0, out: `Cancelled ${runId}: customer asked` });
      expect((await app.store.get(runId))?.cancellationData?.reason).toBe('customer asked');
      expect(await cli('cancel', runId)).toMatchObject({ code: 1, err: expect.stringMatching(/already ended \(cancelled\)/) });
      expect(await cli('show', 'no-such-run')).toMatchObject({ code: 1, err: 'No workflow run no-such-run.' });
      expect(await cli('rewind', runId, '--step', 'zzz')).toMatchObject({ code: 1, err: expect.stringMatching(/no checkpoint of step "zzz"; it has: reserve#0/) });
    }, 60_000);

    it('refuses bad input with exit 2 and says what to type', async () => {
      expect(await cli('start', workflow, '-p', '{oops')).toMatchObject({ code: 2, err: expect.stringMatching(/-p must be JSON/) });
      expect(await cli('ls', '--status', 'sleeping')).toMatchObject({ code: 2, err: expect.stringMatching(/--status must be one of running, suspended/) });
      expect(await cli('rewind', 'x')).toMatchObject({ code: 2, err: expect.stringMatching(/needs --step/) });
      expect(await cli('frob')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown wf action "frob"/) });
    });
  });
}
