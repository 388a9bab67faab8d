import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryBroker } from '../../lib/adapters/memory/in-memory.broker.js';
import { memoryAdapter } from '../../lib/adapters/memory/memory.adapter.js';
import { RedisScheduleStore } from '../../lib/adapters/redis/index.js';
import { registerAdapter } from '../../lib/adapters/registry/index.js';
import { runCli } from '../../lib/cli/index.js';
import type { Broker } from '../../lib/core/contracts/broker.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

/** Runs the `stem` binary's source as its own process; resolves with its exit code and output. */
function runBin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const register = fileURLToPath(new URL('../support/register-ts.mjs', import.meta.url));
  const main = fileURLToPath(new URL('../../lib/cli/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', register, main, ...args], { env: { ...process.env, STEM_BROKER_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('the stem binary', () => {
  it('prints the usage and exits 2 with no arguments, 0 with --help', async () => {
    const bare = await runBin([]);
    expect(bare.stdout).toMatch(/Usage: stem <command>/);
    expect(bare.code).toBe(2);
    const help = await runBin(['--help']);
    expect(help.stdout).toMatch(/Usage: stem <command>/);
    expect(help.code).toBe(0);
  }, 30_000);
});

describe('stem on a broker without optional capabilities', () => {
  // A broker that keeps only the required methods: no dead-letter admin, broadcast or priorities.
  const inner = new InMemoryBroker();
  const bare: Broker = {
    name: 'bare',
    capabilities: { priorities: false },
    publish: (e) => inner.publish(e),
    consume: (o) => inner.consume(o),
    ack: (d) => inner.ack(d),
    nack: (d, o) => inner.nack(d, o),
    deadLetter: (d, r, m) => inner.deadLetter(d, r, m),
    extendLease: (d, ms) => inner.extendLease(d, ms),
    purge: (q) => inner.purge(q),
    pendingCount: (q) => inner.pendingCount(q),
    inflightCount: (q) => inner.inflightCount(q),
    close: async () => undefined,
  };
  registerAdapter('bare', async () => ({ ...memoryAdapter, broker: async () => bare }));
  const env = { STEM_BROKER_URL: 'bare://local' };

  it('says the dlq commands need dead-letter admin instead of failing on a missing method', async () => {
    for (const action of ['list', 'show', 'replay', 'purge']) {
      const c = capture();
      expect(await runCli(['dlq', action, '--queue', 'emails', '--id', 'x', '--yes'], c.io, env)).toBe(1);
      expect(c.err).toEqual([
        'error: Cannot use stem dlq on queue "emails": the "bare" broker has no dead-letter-admin capability; use a store that has it (the memory, redis and postgres brokers have every capability)',
      ]);
    }
  });

  it('counts queues without dead letters, and health lists the capabilities', async () => {
    const q = capture();
    expect(await runCli(['queues', 'emails'], q.io, env)).toBe(0);
    expect(q.out).toEqual(['emails: 0 ready, 0 in flight, dead letters: n/a (the bare broker cannot list them)']);
    const json = capture();
    expect(await runCli(['queues', 'emails', '--json'], json.io, env)).toBe(0);
    expect(JSON.parse(json.out.join('\n'))).toEqual([{ queue: 'emails', pending: 0, inflight: 0, deadLetters: null, deadLettersCapped: false }]);
    const health = capture();
    expect(await runCli(['health'], health.io, env)).toBe(0);
    expect(health.out[0]).toMatch(/^ok: broker bare \(no optional capabilities\), backend memory answered in \d+ ms$/);
  });
});

const hasRedis = await redisAvailable();

describe.runIf(hasRedis)('stem schedules on Redis', () => {
  const prefix = uniquePrefix('cli');
  const env = { STEM_BROKER_URL: `${REDIS_URL}?prefix=${prefix}` };
  const id = uniqueName('digest');
  let store: RedisScheduleStore;

  beforeAll(async () => {
    store = await RedisScheduleStore.connect(env.STEM_BROKER_URL);
    await store.upsert({ id, task: 'report.digest', spec: { kind: 'interval', every: 3_600_000 }, enabled: true, nextRunAt: Date.now() + 3_600_000 });
  });
  afterAll(async () => {
    await store?.close();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('disable prints no next run for the disabled entry; enable prints the new one', async () => {
    const off = capture();
    expect(await runCli(['schedules', 'disable', '--id', id], off.io, env)).toBe(0);
    expect(off.out).toEqual([`${id} disabled; it does not run until enabled again`]);
    const json = capture();
    expect(await runCli(['schedules', 'list', '--json'], json.io, env)).toBe(0);
    expect(JSON.parse(json.out.join('\n'))).toMatchObject([{ id, enabled: false, nextRunAt: null }]);
    const list = capture();
    expect(await runCli(['schedules', 'list'], list.io, env)).toBe(0);
    expect(list.out[0]).toMatch(new RegExp(`^${id}  report\\.digest  interval  disabled  next -  `));
    const on = capture();
    expect(await runCli(['schedules', 'enable', '--id', id], on.io, env)).toBe(0);
    expect(on.out[0]).toMatch(new RegExp(`^${id} enabled; next run \\d{4}-\\d\\d-\\d\\dT`));
  });
});
