import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../core/contracts/broker.js';
import type { BrokerIntrospection, ResultBackendIntrospection } from '../core/contracts/introspection.js';
import type { ResultBackend } from '../core/contracts/result-backend.js';
import { ArgsSearchUnsupportedError } from '../core/errors/args-search-unsupported.error.js';
import { Stem } from '../core/stem.js';
import type { RecordArgsOption } from '../core/utils/recorded-args.js';
import { uuidv7 } from '../core/utils/uuid.js';
import { fetchAll, makeEnvelope, uniqueName } from './contract-helpers.js';

/** A broker and a result backend on one store, as the operations pages read them. */
export interface IntrospectionPair {
  readonly broker: Broker & BrokerIntrospection;
  readonly backend: ResultBackend & ResultBackendIntrospection;
}

/** How the introspection suite gets fresh stores. */
export interface IntrospectionContractFactory {
  /** A broker and a backend on the shared store (the backend built with `recordArgs` when given). */
  create(options?: { readonly recordArgs?: RecordArgsOption }): Promise<IntrospectionPair>;
  dispose?(pair: IntrospectionPair): Promise<void>;
  /** Whether `searchStatuses` supports `argsContain` (otherwise it must reject it naming the backend). */
  readonly argsSearch: boolean;
}

/**
 * The operations queries every store must answer alike: queue counts that follow a task's
 * lifecycle (delayed counted as delayed, dead letters counted, the oldest ready age), counts by
 * state, finished tasks per minute, search by filters and id prefix, and the arguments recorded
 * at enqueue. Every test works on queues of its own.
 */
export function runIntrospectionContractTests(adapter: string, factory: IntrospectionContractFactory): void {
  describe(`Introspection contract: ${adapter}`, () => {
    const opened: IntrospectionPair[] = [];
    const open = async (options?: { recordArgs?: RecordArgsOption }) => {
      const pair = await factory.create(options);
      opened.push(pair);
      return { ...pair, stem: new Stem({ broker: pair.broker, backend: pair.backend, allowUnknownTasks: true }) };
    };

    afterEach(async () => {
      for (const pair of opened.splice(0)) {
        if (factory.dispose) await factory.dispose(pair);
        else {
          await pair.broker.close();
          await pair.backend.close();
        }
      }
    });

    it('counts a queue through the lifecycle: pending, inflight, finished by state, dead letters', async () => {
      const { broker, backend, stem } = await open();
      const queue = uniqueName('ops');
      expect(await broker.queueStats(queue)).toEqual({ queue, pending: 0, delayed: 0, inflight: 0, deadLetters: 0, oldestReadyAt: null });
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await stem.enqueue('ops.task', { i }, { queue }));
      expect(await broker.listQueues()).toContain(queue);
      expect(await broker.queueStats(queue)).toMatchObject({ pending: 3, delayed: 0, inflight: 0, deadLetters: 0 });
      expect(await backend.countByState(queue)).toEqual({ queued: 3, running: 0, succeeded: 0, failed: 0, retried: 0, cancelled: 0 });

      const consumer = broker.consume({ queues: [queue], consumerName: uniqueName('c') });
      try {
        const deliveries = await fetchAll(consumer, 2, 5_000);
        expect(deliveries).toHaveLength(2);
        for (const d of deliveries) await backend.set(d.envelope.id, { state: 'running', attempt: 0 });
        expect(await broker.queueStats(queue)).toMatchObject({ pending: 1, inflight: 2, deadLetters: 0 });
        expect(await backend.countByState(queue)).toMatchObject({ queued: 1, running: 2 });

        const [ok, bad] = deliveries;
        await backend.set(ok!.envelope.id, { state: 'succeeded', attempt: 0, payload: 1 });
        await broker.ack(ok!);
        await backend.set(bad!.envelope.id, { state: 'failed', attempt: 0, error: { type: 'Error', message: 'boom', retryable: false } });
        await broker.deadLetter(bad!, 'max-retries-exhausted');
        expect(await broker.queueStats(queue)).toMatchObject({ pending: 1, delayed: 0, inflight: 0, deadLetters: 1 });
        expect(await backend.countByState(queue)).toEqual({ queued: 1, running: 0, succeeded: 1, failed: 1, retried: 0, cancelled: 0 });
        const all = await backend.countByState();
        expect(all.succeeded).toBeGreaterThanOrEqual(1);
        expect(all.queued).toBeGreaterThanOrEqual(1);
      } finally {
        await consumer.close();
      }
    });

    it('counts delayed tasks as delayed, not pending, and lists their queue', async () => {
      const { broker, stem } = await open();
      const queue = uniqueName('ops-delayed');
      await stem.enqueue('ops.task', {}, { queue, delay: 60_000 });
      await stem.enqueue('ops.task', {}, { queue, delay: 120_000 });
      expect(await broker.queueStats(queue)).toEqual({ queue, pending: 0, delayed: 2, inflight: 0, deadLetters: 0, oldestReadyAt: null });
      const queues = await broker.listQueues();
      expect(queues).toContain(queue);
      expect([...queues].sort()).toEqual(queues);
    });

    it('reports when the oldest ready task became ready', async () => {
      const { broker } = await open();
      const queue = uniqueName('ops-age');
      const before = Date.now();
      await broker.publish(makeEnvelope(queue));
      const after = Date.now();
      await broker.publish(makeEnvelope(queue, { priority: 5 }));
      const stats = await broker.queueStats(queue);
      expect(stats.pending).toBe(2);
      // NOTE: the store's clock stamps readiness; it runs on this host, within a second of ours.
      expect(stats.oldestReadyAt).not.toBeNull();
      expect(stats.oldestReadyAt!).toBeGreaterThanOrEqual(before - 1_000);
      expect(stats.oldestReadyAt!).toBeLessThanOrEqual(after + 1_000);
    });

    it('counts finished tasks per minute bucket, once per task, oldest bucket first', async () => {
      const { backend } = await open();
      const queue = uniqueName('ops-tp');
      const other = uniqueName('ops-tp-other');
      const since = Date.now() - 5 * 60_000;
      const ids = Array.from({ length: 4 }, () => uuidv7());
      for (const id of ids) await backend.set(id, { state: 'running', attempt: 0, name: 'ops.task', queue });
      await backend.set(ids[0]!, { state: 'succeeded', attempt: 0 });
      await backend.set(ids[1]!, { state: 'succeeded', attempt: 0 });
      await backend.set(ids[1]!, { state: 'succeeded', attempt: 0 });
      await backend.set(ids[2]!, { state: 'succeeded', attempt: 0 });
      await backend.set(ids[3]!, { state: 'failed', attempt: 0 });
      await backend.set(uuidv7(), { state: 'succeeded', attempt: 0, queue: other });

      const buckets = await backend.throughput({ queue, since });
      expect(buckets.length).toBeGreaterThanOrEqual(6);
      expect(buckets.length).toBeLessThanOrEqual(7);
      buckets.forEach((b, i) => {
        expect(b.at % 60_000).toBe(0);
        if (i > 0) expect(b.at - buckets[i - 1]!.at).toBe(60_000);
      });
      expect(buckets[0]!.at).toBeLessThanOrEqual(since);
      expect(buckets.at(-1)!.at).toBeGreaterThan(Date.now() - 60_000);
      expect(buckets.reduce((n, b) => n + b.succeeded, 0)).toBe(3);
      expect(buckets.reduce((n, b) => n + b.failed, 0)).toBe(1);
      expect(buckets.slice(0, 4).every((b) => b.succeeded === 0 && b.failed === 0)).toBe(true);

      const wide = await backend.throughput({ queue, since, bucketMs: 300_000 });
      expect(wide.every((b) => b.at % 300_000 === 0)).toBe(true);
      expect(wide.reduce((n, b) => n + b.succeeded, 0)).toBe(3);
      const everywhere = await backend.throughput({ since });
      expect(everywhere.reduce((n, b) => n + b.succeeded, 0)).toBeGreaterThanOrEqual(4);
    });

    it('searches by state, queue and name, newest first, page by page', async () => {
      const { backend } = await open();
      const queue = uniqueName('ops-search');
      const written: { id: string; state: 'succeeded' | 'failed'; name: string }[] = [];
      for (let i = 0; i < 7; i++) {
        const entry = { id: uuidv7(), state: i % 3 === 0 ? ('failed' as const) : ('succeeded' as const), name: i % 2 ? 'ops.odd' : 'ops.even' };
        await backend.set(entry.id, { state: entry.state, attempt: 0, name: entry.name, queue });
        written.push(entry);
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
      const newest = [...written].reverse();
      const failed = await backend.searchStatuses({ queue, state: 'failed' });
      expect(failed.items.map((s) => s.id)).toEqual(newest.filter((w) => w.state === 'failed').map((w) => w.id));
      expect(failed.nextOffset).toBeUndefined();
      const odd = await backend.searchStatuses({ queue, name: 'ops.odd' });
      expect(odd.items.map((s) => s.id)).toEqual(newest.filter((w) => w.name === 'ops.odd').map((w) => w.id));
      const first = await backend.searchStatuses({ queue, limit: 3 });
      expect(first.items.map((s) => s.id)).toEqual(newest.slice(0, 3).map((w) => w.id));
      expect(first.nextOffset).toBe(3);
      const second = await backend.searchStatuses({ queue, limit: 3, offset: first.nextOffset });
      expect(second.items.map((s) => s.id)).toEqual(newest.slice(3, 6).map((w) => w.id));
      const listed = await backend.listStatuses({ queue, state: 'succeeded', limit: 2, offset: 1 });
      expect(listed.items.map((s) => s.id)).toEqual(
        newest
          .filter((w) => w.state === 'succeeded')
          .slice(1, 3)
          .map((w) => w.id),
      );
    });

    it('finds statuses by id prefix', async () => {
      const { backend } = await open();
      const queue = uniqueName('ops-prefix');
      const tag = uniqueName('order');
      const mine = [`${tag}-a1`, `${tag}-a2`, `${tag}-b1`];
      for (const id of [...mine, `x${tag}-a3`, uuidv7()]) await backend.set(id, { state: 'succeeded', attempt: 0, queue });
      const found = await backend.searchStatuses({ idPrefix: `${tag}-a` });
      expect(found.items.map((s) => s.id).sort()).toEqual([`${tag}-a1`, `${tag}-a2`]);
      const inQueue = await backend.searchStatuses({ idPrefix: tag, queue, state: 'succeeded' });
      expect(inQueue.items.map((s) => s.id).sort()).toEqual(mine.sort());
      expect((await backend.searchStatuses({ idPrefix: tag, state: 'failed' })).items).toEqual([]);
    });

    it('records the arguments at enqueue and keeps them through later writes', async () => {
      const { backend, stem } = await open();
      const queue = uniqueName('ops-args');
      const args = { to: 'a@b.c', lines: [1, 2, 3], nested: { plan: 'pro' } };
      const id = await stem.enqueue('ops.mail', args, { queue });
      expect(await backend.getWithArgs(id)).toMatchObject({ id, state: 'queued', queue, args });
      await backend.set(id, { state: 'running', attempt: 0 });
      await backend.set(id, { state: 'succeeded', attempt: 0, payload: 'sent' });
      const done = await backend.getWithArgs(id);
      expect(done).toMatchObject({ state: 'succeeded', payload: 'sent', args });
      expect(done!.argsTruncated).toBeUndefined();
      expect(await backend.getWithArgs(uuidv7())).toBeNull();
      if (factory.argsSearch) {
        const page = await backend.searchStatuses({ queue, argsContain: { nested: { plan: 'pro' } } });
        expect(page.items.map((s) => s.id)).toEqual([id]);
        expect((await backend.searchStatuses({ queue, argsContain: { nested: { plan: 'free' } } })).items).toEqual([]);
      } else {
        const refused = backend.searchStatuses({ queue, argsContain: { to: 'a@b.c' } });
        await expect(refused).rejects.toBeInstanceOf(ArgsSearchUnsupportedError);
        await expect(backend.searchStatuses({ queue, argsContain: { to: 'a@b.c' } })).rejects.toThrow(backend.name);
      }
    });

    it('records arguments too large as a truncation marker without failing the enqueue, and none when turned off', async () => {
      const small = await open({ recordArgs: { maxBytes: 64 } });
      const queue = uniqueName('ops-big');
      const big = { blob: 'x'.repeat(500) };
      const id = await small.stem.enqueue('ops.mail', big, { queue });
      const status = await small.backend.getWithArgs(id);
      expect(status).toMatchObject({ state: 'queued', queue });
      expect(status!.args).toBeUndefined();
      expect(status!.argsTruncated).toBe(JSON.stringify(big).length);
      expect(await small.broker.queueStats(queue)).toMatchObject({ pending: 1 });
      const fits = await small.stem.enqueue('ops.mail', { n: 1 }, { queue });
      expect((await small.backend.getWithArgs(fits))!.args).toEqual({ n: 1 });

      const off = await open({ recordArgs: false });
      const quiet = await off.stem.enqueue('ops.mail', { secret: 's3cr3t' }, { queue });
      const unrecorded = await off.backend.getWithArgs(quiet);
      expect(unrecorded).toMatchObject({ state: 'queued' });
      expect(unrecorded!.args).toBeUndefined();
      expect(unrecorded!.argsTruncated).toBeUndefined();
      // NOTE: with nothing recorded, an argument search would find nothing: it is refused, naming the option.
      const search = off.backend.searchStatuses({ queue, argsContain: { secret: 's3cr3t' } });
      await expect(search).rejects.toBeInstanceOf(ArgsSearchUnsupportedError);
      await expect(off.backend.searchStatuses({ queue, argsContain: { secret: 's3cr3t' } })).rejects.toThrow(factory.argsSearch ? 'recordArgs' : off.backend.name);
    });
  });
}
