import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryRateLimiter, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import {
  ConfigurationError,
  defineTask,
  type Envelope,
  logWorkerEvents,
  type RateLimitScope,
  SimpleTaskRegistry,
  Stem,
  StemMeta,
  type TaskHandler,
  TestClock,
  Worker,
  type StemSignalName,
  type WorkerOptions,
} from '../../lib/core/index.js';
import { groupRateLimitKey, taskRateLimitKey } from '../../lib/core/rate-limit.js';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/**
 * A worker on a manual clock: the limiter never refills until the test advances time, so which
 * tasks ran and which were delayed is exact.
 */
function world(handlers: TaskHandler[], options: Partial<WorkerOptions> = {}) {
  const clock = new TestClock();
  const broker = new InMemoryBroker({ clock });
  const backend = new InMemoryResultBackend({ clock });
  const registry = new SimpleTaskRegistry(handlers);
  const rateLimiter = new InMemoryRateLimiter({ clock });
  const stem = new Stem({ broker, backend, registry, clock });
  const worker = new Worker({ broker, backend, registry, rateLimiter, clock, concurrency: 4, ...options });
  closers.push(() => broker.close());
  closers.push(() => worker.close({ mode: 'hard' }));
  const ran: { id: string; tenant: string | undefined; attempt: number }[] = [];
  const limited: { id: string; scope: RateLimitScope }[] = [];
  worker.signals.on('task-prerun', ({ envelope: env }) => ran.push({ id: env.id, tenant: env.headers.tenant, attempt: env.attempt }));
  worker.signals.on('task-rate-limited', ({ envelope: env, scope }) => limited.push({ id: env.id, scope }));
  /** Resolves once `predicate` holds, checked after every settling worker event. */
  const when = (predicate: () => boolean, ms = 5_000) =>
    new Promise<void>((resolve, reject) => {
      const names: StemSignalName[] = ['task-succeeded', 'task-rate-limited', 'task-dead-lettered', 'task-failed', 'task-retry'];
      const offs: (() => void)[] = [];
      const finish = (error?: Error) => {
        for (const off of offs) off();
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      const check = () => predicate() && finish();
      const timer = setTimeout(() => finish(new Error(`condition not met within ${ms} ms; ran ${ran.length}, rate-limited ${limited.length}`)), ms);
      for (const name of names) offs.push(worker.signals.on(name, () => queueMicrotask(check)));
      check();
    });
  const enqueue = (name: string, tenant: string | undefined, count: number, args: unknown = {}) =>
    stem.enqueueMany(Array.from({ length: count }, () => ({ name, args, options: tenant ? { headers: { tenant } } : {} })));
  return { clock, broker, backend, stem, worker, rateLimiter, ran, limited, when, enqueue };
}

const ranOf = (ran: { tenant: string | undefined }[], tenant: string | undefined) => ran.filter((r) => r.tenant === tenant).length;

describe('Tenant rate limits (memory)', () => {
  it('groupRateLimit gives each tenant its own budget: one tenant is delayed, the other is not slowed', async () => {
    const w = world([{ name: 'report', options: { groupRateLimit: '5/s' }, call: () => 'ok' }]);
    await w.worker.start();
    const acme = await w.enqueue('report', 'acme', 8);
    const globex = await w.enqueue('report', 'globex', 3);
    await w.when(() => w.ran.length === 8 && w.limited.length === 3);
    expect(ranOf(w.ran, 'acme')).toBe(5);
    expect(ranOf(w.ran, 'globex')).toBe(3);
    expect(new Set(w.limited.map((l) => l.scope.key))).toEqual(new Set(['group:acme']));
    expect(w.limited.every((l) => l.scope.kind === 'group')).toBe(true);
    for (const { id } of w.limited) {
      const status = await w.stem.getTaskStatus(id);
      expect(status).toMatchObject({ state: 'queued', attempt: 0 });
      expect(status!.meta[StemMeta.rateLimitedUntil]).toBeGreaterThan(w.clock.now());
    }
    for (const id of globex) expect((await w.stem.getTaskStatus(id))?.state).toBe('succeeded');

    await w.clock.advance(2_000);
    await w.when(() => w.ran.length === 11);
    for (const id of acme) expect(await w.stem.getTaskStatus(id)).toMatchObject({ state: 'succeeded', attempt: 0 });
    expect(w.ran.every((r) => r.attempt === 0)).toBe(true);
  });

  it('without a tenant header the group is `global`; groupRateKeyHeader names another header', async () => {
    const w = world([
      { name: 'plain', options: { groupRateLimit: '2/s' }, call: () => 1 },
      { name: 'by-org', options: { groupRateLimit: '1/s', groupRateKeyHeader: 'x-org' }, call: () => 2 },
    ]);
    await w.worker.start();
    await w.enqueue('plain', undefined, 3);
    await w.stem.enqueueMany([
      { name: 'by-org', options: { headers: { 'x-org': 'o1', tenant: 'same' } } },
      { name: 'by-org', options: { headers: { 'x-org': 'o2', tenant: 'same' } } },
      { name: 'by-org', options: { headers: { 'x-org': 'o2', tenant: 'same' } } },
    ]);
    await w.when(() => w.ran.length === 4 && w.limited.length === 2);
    expect(w.limited.map((l) => l.scope.key).sort()).toEqual(['group:global', 'group:o2']);
  });

  it('a fixed groupRateKey shares one budget across tasks; a function of the args picks the group per call', async () => {
    const w = world([
      { name: 'sms.send', options: { groupRateLimit: '3/s', groupRateKey: 'sms-provider' }, call: () => 1 },
      { name: 'sms.bulk', options: { groupRateLimit: '3/s', groupRateKey: 'sms-provider' }, call: () => 2 },
      { name: 'account.sync', options: { groupRateLimit: '1/s', groupRateKey: ({ args }) => (args as { account?: string }).account }, call: () => 3 },
    ]);
    await w.worker.start();
    await w.enqueue('sms.send', 'acme', 2);
    await w.enqueue('sms.bulk', 'globex', 2);
    await w.enqueue('account.sync', 't', 2, { account: 'a-1' });
    await w.enqueue('account.sync', 't', 1, { account: 'a-2' });
    await w.enqueue('account.sync', 'fallback', 1, {});
    await w.when(() => w.ran.length === 6 && w.limited.length === 2);
    expect(w.limited.map((l) => l.scope.key).sort()).toEqual(['group:a-1', 'group:sms-provider']);
  });

  it('defineTask options carry the group limit to the handler a worker registers', async () => {
    const exportCsv = defineTask<{ rows: number }, number>('csv.export', { groupRateLimit: '1/s', groupRateKeyHeader: 'account' });
    const w = world([exportCsv.handler((_ctx, args) => args.rows)]);
    await w.worker.start();
    const first = await exportCsv.enqueue(w.stem, { rows: 1 }, { headers: { account: 'acc-1' } });
    await exportCsv.enqueue(w.stem, { rows: 2 }, { headers: { account: 'acc-1' } });
    await exportCsv.enqueue(w.stem, { rows: 3 }, { headers: { account: 'acc-2' } });
    await w.when(() => w.ran.length === 2 && w.limited.length === 1);
    expect(w.limited[0]!.scope).toEqual({ kind: 'group', key: 'group:acc-1' });
    expect((await exportCsv.waitFor(w.stem, first, { timeout: 1_000 })).value).toBe(1);
  });

  it('rateLimit keys by <task>:<tenant>, so each tenant has its own budget for a task', async () => {
    const w = world([{ name: 'export', options: { rateLimit: '2/s' }, call: () => 'done' }]);
    await w.worker.start();
    await w.enqueue('export', 'acme', 3);
    await w.enqueue('export', 'globex', 2);
    await w.enqueue('export', undefined, 2);
    await w.when(() => w.ran.length === 6 && w.limited.length === 1);
    expect(w.limited[0]!.scope).toEqual({ kind: 'task', key: 'export:acme' });
    expect([ranOf(w.ran, 'acme'), ranOf(w.ran, 'globex'), ranOf(w.ran, undefined)]).toEqual([2, 2, 2]);
  });

  it('checks the group limit before the task limit; both must allow', async () => {
    const w = world([{ name: 'both', options: { groupRateLimit: '1/s', rateLimit: '5/s' }, call: () => 1 }]);
    await w.worker.start();
    await w.enqueue('both', 'acme', 2);
    await w.when(() => w.ran.length === 1 && w.limited.length === 1);
    expect(w.limited[0]!.scope).toEqual({ kind: 'group', key: 'group:acme' });
  });

  it('a task its own limit turns away gives its group token back: the other tasks of the group keep the budget', async () => {
    const w = world([
      { name: 'report', options: { groupRateKey: 'crm', groupRateLimit: '3/s', rateLimit: '1/s' }, call: () => 1 },
      { name: 'sync', options: { groupRateKey: 'crm', groupRateLimit: '3/s' }, call: () => 2 },
    ]);
    await w.worker.start();
    await w.enqueue('report', 'acme', 3);
    await w.when(() => w.ran.length === 1 && w.limited.length === 2);
    expect(w.limited.map((l) => l.scope)).toEqual(Array(2).fill({ kind: 'task', key: 'report:acme' }));
    // One report ran, so the group has 2 of its 3 tokens left; the 2 reports turned away took none.
    const syncs = await w.enqueue('sync', 'acme', 2);
    await w.when(() => w.ran.length === 3);
    expect(
      w.ran
        .slice(1)
        .map((r) => r.id)
        .sort(),
    ).toEqual([...syncs].sort());
    expect(w.limited).toHaveLength(2);
    // The group bucket itself: exactly one token used (the report that ran) plus the two syncs.
    expect((await w.rateLimiter.acquire('group:crm', { tokens: 3, interval: 1_000 })).allowed).toBe(false);
  });

  it('a task named `group` (or `group:…`) does not share a bucket with a group budget', async () => {
    const w = world([
      { name: 'group', options: { rateLimit: '1/s' }, call: () => 1 },
      { name: 'group:sync', options: { rateLimit: '1/s' }, call: () => 1 },
      { name: 'report', options: { groupRateLimit: '1/s' }, call: () => 2 },
      { name: 'digest', options: { groupRateKey: 'sync:acme', groupRateLimit: '1/s' }, call: () => 3 },
    ]);
    await w.worker.start();
    const [first] = await w.enqueue('group', 'acme', 1);
    const [firstSync] = await w.enqueue('group:sync', 'acme', 1);
    await w.when(() => w.ran.length === 2);
    // The task buckets of `group` and `group:sync` are not the group buckets `acme` and `sync:acme`: these still run at once.
    const report = await w.enqueue('report', 'acme', 1);
    const digest = await w.enqueue('digest', undefined, 1);
    await w.when(() => w.ran.length === 4);
    expect(w.ran.map((r) => r.id)).toEqual([first, firstSync, ...report, ...digest]);
    expect(w.limited).toEqual([]);
    await w.enqueue('group', 'acme', 1);
    await w.when(() => w.limited.length === 1);
    expect(w.limited[0]!.scope).toEqual({ kind: 'task', key: '%67roup:acme' });
  });

  it('task limiter keys: unchanged for plain names and tenants, distinct for every task and tenant pair', () => {
    expect(taskRateLimitKey('email.send', 'acme')).toBe('email.send:acme');
    expect(taskRateLimitKey('reports:build', 'global')).toBe('reports:build:global');
    expect(taskRateLimitKey('group', 'acme')).toBe('%67roup:acme');
    expect(taskRateLimitKey('group:x', 'acme')).toBe('%67roup:x:acme');
    expect(groupRateLimitKey('acme')).toBe('group:acme');
    const pairs: [string, string][] = [
      ['a', 'b:c'],
      ['a:b', 'c'],
      ['group', 'acme'],
      ['%67roup', 'acme'],
      ['a%3Ab', 'c'],
      ['a', 'b%3Ac'],
      ['groups', 'x'],
    ];
    const keys = pairs.map(([task, tenant]) => taskRateLimitKey(task, tenant));
    expect(new Set(keys).size).toBe(pairs.length);
    expect(keys.some((k) => k.startsWith('group:'))).toBe(false);
  });

  it('a denied retry keeps its attempt: it is not counted as a retry and runs when the budget allows', async () => {
    let calls = 0;
    const w = world([
      {
        name: 'flaky',
        options: { groupRateLimit: '1/s', maxRetries: 1, retryPolicy: { backoff: 10, jitter: false } },
        call: (ctx) => {
          calls++;
          if (ctx.attempt === 0) throw new Error('transient');
          return `attempt ${ctx.attempt}`;
        },
      },
    ]);
    let retried = false;
    w.worker.signals.on('task-retry', () => (retried = true));
    await w.worker.start();
    const [id] = await w.enqueue('flaky', 'acme', 1);
    // NOTE: advance only once the retry is scheduled, so its backoff starts before the clock moves.
    await w.when(() => w.ran.length === 1 && retried);
    await w.clock.advance(10);
    await w.when(() => w.limited.length === 1);
    // NOTE: the retry (attempt 1) was denied: it waits as attempt 1, it did not use up maxRetries.
    expect(await w.stem.getTaskStatus(id!)).toMatchObject({ state: 'queued', attempt: 1 });
    // The denial waits retryAfter (< 1 s) plus up to one interval of jitter: by 2.1 s it has a token.
    await w.clock.advance(2_100);
    await w.when(() => w.ran.length === 2);
    const res = await w.stem.waitForTask(id!, { timeout: 2_000 });
    expect(res).toMatchObject({ value: 'attempt 1', status: { state: 'succeeded', attempt: 1 } });
    expect(calls).toBe(2);
    expect((await w.broker.listDeadLetters('default')).items).toHaveLength(0);
  });

  it('a groupRateKey function that throws dead-letters that delivery only, naming the task', async () => {
    const w = world([
      {
        name: 'picky',
        options: {
          groupRateLimit: '10/s',
          groupRateKey: ({ args }) => {
            if ((args as { bad?: boolean }).bad) throw new Error('no account on this call');
            return 'ok';
          },
        },
        call: () => 'ran',
      },
    ]);
    const dead: { env: Envelope; reason: string }[] = [];
    w.worker.signals.on('task-dead-lettered', ({ envelope: env, reason }) => dead.push({ env, reason }));
    await w.worker.start();
    const [bad] = await w.enqueue('picky', 'acme', 1, { bad: true });
    const [good] = await w.enqueue('picky', 'acme', 1, {});
    await w.when(() => dead.length === 1 && w.ran.length === 1);
    expect(dead[0]).toMatchObject({ reason: 'invalid-rate-key', env: { id: bad } });
    const status = await w.stem.getTaskStatus(bad!);
    expect(status?.state).toBe('failed');
    expect(status?.error?.message).toMatch(/groupRateKey function of task "picky" threw "no account on this call"/);
    expect((await w.stem.getTaskStatus(good!))?.state).toBe('succeeded');
  });

  it('refuses bad rate-limit options at start, naming the task and the option', async () => {
    const bad: [TaskHandler['options'], RegExp][] = [
      [{ groupRateLimit: '5 per second' }, /Invalid option "groupRateLimit": task "bad" has groupRateLimit "5 per second"/],
      [{ groupRateLimit: '5/s', groupRateLimiterFailureMode: 'failSoft' as 'failOpen' }, /groupRateLimiterFailureMode.*task "bad".*'failOpen' or 'failClosed'/],
      [{ groupRateLimit: '5/s', groupRateKey: 42 as unknown as string }, /Invalid option "groupRateKey": task "bad"/],
      [{ groupRateLimit: '5/s', groupRateKeyHeader: '' }, /Invalid option "groupRateKeyHeader": task "bad"/],
    ];
    for (const [options, message] of bad) {
      const w = world([{ name: 'bad', options, call: () => 1 }]);
      const error = await w.worker.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('module defaults set the tenant header for every task', async () => {
    const w = world([{ name: 'plain', options: { groupRateLimit: '1/s' }, call: () => 1 }], { defaults: { groupRateKeyHeader: 'org' } });
    await w.worker.start();
    await w.stem.enqueueMany([
      { name: 'plain', options: { headers: { org: 'org-7' } } },
      { name: 'plain', options: { headers: { org: 'org-7' } } },
    ]);
    await w.when(() => w.ran.length === 1 && w.limited.length === 1);
    expect(w.limited[0]!.scope.key).toBe('group:org-7');
  });

  it('the in-process limiter drops buckets that refilled, so many tenants do not pile up', async () => {
    const clock = new TestClock();
    const limiter = new InMemoryRateLimiter({ clock });
    for (let i = 0; i < 1_000; i++) await limiter.acquire(`group:tenant-${i}`, { tokens: 5, interval: 1_000 });
    expect(limiter.size).toBe(1_000);
    await clock.advance(61_000);
    await limiter.acquire('group:tenant-new', { tokens: 5, interval: 1_000 });
    expect(limiter.size).toBe(1);
  });

  it('logs a burst of limiter failures as one line', () => {
    const warnings: string[] = [];
    const worker = new Worker({ broker: new InMemoryBroker(), registry: new SimpleTaskRegistry() });
    const stop = logWorkerEvents(worker, { log: () => undefined, warn: (m) => warnings.push(m), error: () => undefined });
    const env = { id: 't1', name: 'report' } as Envelope;
    for (let i = 0; i < 3; i++)
      worker.signals.emit('task-rate-limiter-degraded', {
        envelope: env,
        workerId: worker.id,
        kind: 'group',
        key: 'group:acme',
        mode: 'failOpen',
        error: new Error('ECONNREFUSED'),
      });
    stop();
    expect(warnings).toEqual(['Rate limiter failed for task report t1 (key group:acme): ECONNREFUSED; ran it unlimited (failOpen)']);
  });
});
