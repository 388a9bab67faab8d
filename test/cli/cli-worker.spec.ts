import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createStemAdapters, type StemAdapters } from '../../lib/adapters/stem-adapters.factory.js';
import { runCli } from '../../lib/cli/index.js';
import { BroadcastControlChannel, SimpleTaskRegistry, Stem, Worker, WorkerControl } from '../../lib/core/index.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { dropSchema, POSTGRES_URL, testSchema } from '../postgres/postgres-test-kit.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

describe('stem worker without a store', () => {
  it('exits 2 with usage for a missing subcommand, task id or queue, or a bad mode', async () => {
    const env = { STEM_BROKER_URL: 'redis://127.0.0.1:1' };
    const cases: [string[], RegExp][] = [
      [['worker'], /stem worker needs a command/],
      [['worker', 'revoke'], /revoke needs at least one task id/],
      [['worker', 'pause'], /pause needs a queue name/],
      [['worker', 'shutdown', '--mode', 'gentle'], /--mode must be one of warm, soft, hard/],
      [['worker', 'frob'], /unknown worker command "frob"/],
      [['worker', 'revoke', 'some-id', '--expires-in', 'soon'], /--expires-in "soon" is not a duration/],
    ];
    for (const [argv, message] of cases) {
      const c = capture();
      expect(await runCli(argv, c.io, env), argv.join(' ')).toBe(2);
      expect(c.err.join('\n')).toMatch(message);
    }
  });
});

const targets = [
  { name: 'Redis', available: await redisAvailable(), url: () => `${REDIS_URL}?prefix=${uniquePrefix('cliw')}` },
  { name: 'Postgres', available: await postgresAvailable(), url: () => `${POSTGRES_URL}?schema=${testSchema()}` },
];

for (const target of targets) {
  describe.runIf(target.available)(`stem worker on ${target.name}`, () => {
    const url = target.url();
    const queue = uniqueName('cliq');
    const env = { STEM_BROKER_URL: url };
    const stops: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const stop of stops.splice(0)) await stop();
    });
    afterAll(async () => {
      if (url.includes('?prefix=')) await deleteKeys(REDIS_URL, new URL(url).searchParams.get('prefix')!);
      else await dropSchema(new URL(url).searchParams.get('schema')!);
    });

    const startWorker = async (id: string) => {
      const adapters: StemAdapters = await createStemAdapters({ broker: url });
      const registry = new SimpleTaskRegistry([{ name: 'cli.noop', options: { queue }, call: async () => 'ok' }]);
      const control = new WorkerControl({ store: adapters.revokeStore!, channel: new BroadcastControlChannel(adapters.broker as never) });
      const worker = new Worker({ broker: adapters.broker, backend: adapters.backend ?? undefined, registry, id, queues: [queue], extensions: [control.extension] });
      await control.start(worker);
      await worker.start();
      const stop = async () => {
        await worker.close({ mode: 'hard' });
        await adapters.close();
      };
      stops.push(stop);
      return { worker, adapters, stop };
    };

    it('ls, ping, stats and inspect reach every live worker; --json is parseable', async () => {
      await startWorker('cli-w1');
      await startWorker('cli-w2');
      const ls = capture();
      expect(await runCli(['worker', 'ls'], ls.io, env)).toBe(0);
      expect(ls.out.join('\n')).toMatch(/cli-w1 .*queues .*active 0\/8[\s\S]*cli-w2/);
      const ping = capture();
      expect(await runCli(['worker', 'ping', '--json', '--timeout', '1500'], ping.io, env)).toBe(0);
      expect((JSON.parse(ping.out.join('\n')) as { workerId: string }[]).map((r) => r.workerId)).toEqual(['cli-w1', 'cli-w2']);
      const stats = capture();
      expect(await runCli(['worker', 'stats', '-w', 'cli-w2'], stats.io, env)).toBe(0);
      expect(stats.out).toEqual([expect.stringMatching(/^cli-w2: .* active 0\/8/)]);
      const inspect = capture();
      expect(await runCli(['worker', 'inspect', '-w', 'cli-w1', '-w', 'cli-w2'], inspect.io, env)).toBe(0);
      expect(inspect.out.filter((l) => l.includes('0 active, 0 prefetched'))).toHaveLength(2);
    });

    it('exits 69 when no worker replies, and 1 when a named worker is missing', async () => {
      const none = capture();
      expect(await runCli(['worker', 'ping', '--timeout', '300'], none.io, env)).toBe(69);
      expect(none.err.join('\n')).toMatch(/No worker replied/);
      await startWorker('cli-w3');
      const partial = capture();
      expect(await runCli(['worker', 'ping', '-w', 'cli-w3', '-w', 'cli-ghost', '--timeout', '500'], partial.io, env)).toBe(1);
      expect(partial.err).toContain('No reply from cli-ghost.');
      const shutdown = capture();
      expect(await runCli(['worker', 'shutdown', '-w', 'cli-ghost', '--timeout', '300'], shutdown.io, env)).toBe(69);
    });

    it('revoke and pause with no worker listening succeed, are stored, and apply when a worker starts', async () => {
      const adapters = await createStemAdapters({ broker: url });
      stops.push(() => adapters.close());
      const stem = Stem.fromParts({ broker: adapters.broker, backend: adapters.backend ?? undefined });
      const id = await stem.enqueue('cli.noop', {}, { queue });
      const revoke = capture();
      expect(await runCli(['worker', 'revoke', id, '--reason', 'typo', '--timeout', '200'], revoke.io, env)).toBe(0);
      expect(revoke.out.join('\n')).toMatch(/Revoked 1 task\(s\): persisted 1\.[\s\S]*No worker replied; the revoke is stored/);
      const pause = capture();
      expect(await runCli(['worker', 'pause', queue, '--timeout', '200'], pause.io, env)).toBe(0);
      const { worker } = await startWorker('cli-w4');
      expect(worker.consumedQueues).toEqual([]);
      const resume = capture();
      expect(await runCli(['worker', 'resume', queue, '--timeout', '2000'], resume.io, env)).toBe(0);
      expect(resume.out.join('\n')).toMatch(/cli-w4: applied/);
      const deadline = Date.now() + 10_000;
      while ((await adapters.backend!.get(id))?.state !== 'cancelled' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await adapters.backend!.get(id)).toMatchObject({ state: 'cancelled', meta: { 'stem.revoked.reason': 'typo' } });
    });

    it('shutdown -w stops only the named worker', async () => {
      const a = await startWorker('cli-w5');
      await startWorker('cli-w6');
      const closed = new Promise<void>((resolve) => a.worker.signals.on('worker-shutdown', () => resolve()));
      const c = capture();
      expect(await runCli(['worker', 'shutdown', '-w', 'cli-w5', '--mode', 'soft'], c.io, env)).toBe(0);
      expect(c.out).toEqual(['cli-w5: shutting down (soft)']);
      await closed;
      const ping = capture();
      expect(await runCli(['worker', 'ping', '--json', '--timeout', '500'], ping.io, env)).toBe(0);
      expect((JSON.parse(ping.out.join('\n')) as { workerId: string }[]).map((r) => r.workerId)).toEqual(['cli-w6']);
    });
  });
}
