import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResultBackend, SetStatusOptions, TaskStatusUpdate } from '../core/contracts/result-backend.js';
import type { TaskStatus } from '../core/envelope.js';
import { StatusNotStorableError } from '../core/errors/status-not-storable.error.js';
import { uuidv7 } from '../core/utils/uuid.js';
import { sleep, uniqueName } from './contract-helpers.js';

/** How the result backend suite gets fresh instances. */
export interface ResultBackendContractFactory {
  /** A new backend on the shared store. */
  create(): Promise<ResultBackend>;
  dispose?(backend: ResultBackend): Promise<void>;
  /**
   * Status writes this store refuses although JSON can carry them (e.g. U+0000 in an id on
   * Postgres). Each must fail alone with a {@link StatusNotStorableError}, next to good writes.
   */
  refusedWrites?(): readonly { readonly id: string; readonly update: TaskStatusUpdate; readonly options?: SetStatusOptions }[];
}

/** A value nested `depth` arrays deep. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/**
 * The behaviours every {@link ResultBackend} must show: round trips, overwrite semantics (a
 * `unlessTerminal` write never replaces a terminal status), TTLs,
 * watch (also from a second instance, which is how cross-process waiting works), progress and
 * listing.
 */
export function runResultBackendContractTests(adapter: string, factory: ResultBackendContractFactory): void {
  describe(`ResultBackend contract: ${adapter}`, () => {
    let backend: ResultBackend;
    const opened: ResultBackend[] = [];
    const another = async () => {
      const b = await factory.create();
      opened.push(b);
      return b;
    };

    beforeEach(async () => {
      backend = await another();
    });

    afterEach(async () => {
      for (const b of opened.splice(0)) await (factory.dispose ? factory.dispose(b) : b.close());
    });

    it('round-trips payload, error, attempt, name, queue and meta', async () => {
      const id = uuidv7();
      await backend.set(id, { state: 'succeeded', attempt: 2, name: 'email.send', queue: 'emails', payload: { delivered: true, n: [1, 2] }, meta: { tenant: 'a' } });
      const status = await backend.get(id);
      expect(status).toMatchObject({ id, state: 'succeeded', attempt: 2, name: 'email.send', queue: 'emails', payload: { delivered: true, n: [1, 2] }, meta: { tenant: 'a' } });
      expect(status!.createdAt).toBeGreaterThan(0);
      const failedId = uuidv7();
      await backend.set(failedId, { state: 'failed', attempt: 0, error: { type: 'TypeError', message: 'bad', retryable: false, meta: { reason: 'x' } } });
      expect((await backend.get(failedId))?.error).toMatchObject({ type: 'TypeError', message: 'bad', retryable: false, meta: { reason: 'x' } });
      expect(await backend.get(uuidv7())).toBeNull();
    });

    it('overwrites a status: the error is cleared, meta merged, createdAt kept', async () => {
      const id = uuidv7();
      await backend.set(id, { state: 'retried', attempt: 0, error: { type: 'Error', message: 'boom', retryable: true }, meta: { a: 1 } });
      const first = await backend.get(id);
      await sleep(5);
      await backend.set(id, { state: 'succeeded', attempt: 1, payload: 42, meta: { b: 2 } });
      const second = await backend.get(id);
      expect(second).toMatchObject({ state: 'succeeded', attempt: 1, payload: 42, meta: { a: 1, b: 2 } });
      expect(second!.error).toBeUndefined();
      expect(second!.createdAt).toBe(first!.createdAt);
      expect(second!.updatedAt).toBeGreaterThanOrEqual(first!.updatedAt);
    });

    it('applies writes for one task in the order they were made, even when not awaited one by one', async () => {
      const ids = Array.from({ length: 20 }, () => uuidv7());
      await Promise.all(
        ids.flatMap((id) => [
          backend.set(id, { state: 'queued', attempt: 0 }),
          backend.set(id, { state: 'running', attempt: 0 }),
          backend.set(id, { state: 'succeeded', attempt: 0, payload: id }),
        ]),
      );
      const statuses = await Promise.all(ids.map((id) => backend.get(id)));
      expect(statuses.map((s) => s?.state)).toEqual(ids.map(() => 'succeeded'));
      expect(statuses.map((s) => s?.payload)).toEqual(ids);
    });

    it('a status that cannot be stored fails only its own write: the 15 written in the same turn are stored', async () => {
      const queue = uniqueName('poison');
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const bad: { id: string; update: TaskStatusUpdate; options?: SetStatusOptions }[] = [
        { id: uuidv7(), update: { state: 'succeeded', attempt: 0, queue, payload: { n: 10n } } },
        { id: uuidv7(), update: { state: 'failed', attempt: 0, queue, meta: { loop: circular } } },
        { id: uuidv7(), update: { state: 'succeeded', attempt: 0, queue, payload: nested(10_000) } },
        ...(factory.refusedWrites?.() ?? []),
      ];
      for (const [n, poison] of bad.entries()) {
        const good = Array.from({ length: 15 }, (_, i) => ({ id: uuidv7(), payload: { i } }));
        const writes = good.map(({ id, payload }) => backend.set(id, { state: 'succeeded', attempt: 0, name: 'batch.task', queue, payload }));
        void writes.splice(7, 0, backend.set(poison.id, poison.update, poison.options));
        const settled = await Promise.allSettled(writes);
        const [rejected] = settled.splice(7, 1);
        expect(
          settled.map((s) => s.status),
          `the good writes next to unstorable write #${n}`,
        ).toEqual(good.map(() => 'fulfilled'));
        expect(rejected!.status, `unstorable write #${n}`).toBe('rejected');
        expect((rejected as PromiseRejectedResult).reason).toBeInstanceOf(StatusNotStorableError);
        const stored = await Promise.all(good.map(({ id }) => backend.get(id)));
        expect(stored.map((s) => [s?.state, s?.payload])).toEqual(good.map(({ payload }) => ['succeeded', payload]));
      }
    });

    it('a write with unlessTerminal never replaces a terminal status, and writes over any other', async () => {
      const other = await another();
      const terminal = (['succeeded', 'failed', 'cancelled'] as const).map((state) => ({ id: uuidv7(), state }));
      const open = ([undefined, 'queued', 'running', 'retried'] as const).map((state) => ({ id: uuidv7(), state }));
      await Promise.all([...terminal, ...open].map(({ id, state }) => (state ? backend.set(id, { state, attempt: 1, name: 'report.build', payload: state }) : undefined)));
      // Written from a second instance, all in one turn (one batch where the backend batches).
      await Promise.all(
        [...terminal, ...open].map(({ id }) => other.set(id, { state: 'queued', attempt: 0, name: 'report.build', meta: { again: true } }, { unlessTerminal: true })),
      );
      for (const { id, state } of terminal) {
        const status = await backend.get(id);
        expect(status, `a ${state} status`).toMatchObject({ state, attempt: 1, payload: state });
        expect(status!.meta).not.toHaveProperty('again');
      }
      for (const { id, state } of open) expect(await backend.get(id), `a ${state ?? 'missing'} status`).toMatchObject({ state: 'queued', attempt: 0, meta: { again: true } });
      // Without the option a write replaces a terminal status (a dead-letter replay does this).
      await backend.set(terminal[1]!.id, { state: 'queued', attempt: 2 });
      expect(await backend.get(terminal[1]!.id)).toMatchObject({ state: 'queued', attempt: 2 });
    });

    it('a write with unlessAttemptReached never replaces a status of its attempt or a later one, and replaces an earlier attempt', async () => {
      const other = await another();
      // The replay of a dead letter of attempt 0 writes "queued, attempt 1" after publishing it.
      const kept = (['running', 'succeeded', 'failed', 'retried'] as const).flatMap((state) => [1, 2].map((attempt) => ({ id: uuidv7(), state, attempt })));
      const replaced = (['failed', 'cancelled', 'running'] as const).map((state) => ({ id: uuidv7(), state, attempt: 0 }));
      const missing = uuidv7();
      await Promise.all([...kept, ...replaced].map(({ id, state, attempt }) => backend.set(id, { state, attempt, name: 'report.build', payload: state })));
      await Promise.all(
        [...kept, ...replaced, { id: missing }].map(({ id }) =>
          other.set(id, { state: 'queued', attempt: 1, name: 'report.build', meta: { replayed: true } }, { unlessAttemptReached: true }),
        ),
      );
      for (const { id, state, attempt } of kept) {
        const status = await backend.get(id);
        expect(status, `a ${state} status of attempt ${attempt}`).toMatchObject({ state, attempt, payload: state });
        expect(status!.meta).not.toHaveProperty('replayed');
      }
      for (const { id, state } of [...replaced, { id: missing, state: 'missing' }]) {
        expect(await backend.get(id), `a ${state} status of attempt 0`).toMatchObject({ state: 'queued', attempt: 1, meta: { replayed: true } });
      }
    });

    it('a terminal status that expired no longer blocks a write with unlessTerminal', async () => {
      const id = uuidv7();
      await backend.set(id, { state: 'succeeded', attempt: 0, payload: 1 }, { ttl: 300 });
      await sleep(700);
      await backend.set(id, { state: 'queued', attempt: 0 }, { unlessTerminal: true });
      expect(await backend.get(id)).toMatchObject({ state: 'queued' });
    });

    it('honours a TTL given to set', async () => {
      const id = uuidv7();
      await backend.set(id, { state: 'succeeded', attempt: 0, payload: 1 }, { ttl: 300 });
      expect(await backend.get(id)).not.toBeNull();
      await sleep(700);
      expect(await backend.get(id)).toBeNull();
    });

    it('expire() removes a status after the new TTL', async () => {
      const id = uuidv7();
      await backend.set(id, { state: 'succeeded', attempt: 0 });
      await backend.expire(id, 300);
      await sleep(700);
      expect(await backend.get(id)).toBeNull();
    });

    it('watch emits every later write, also across instances, until closed', async () => {
      const id = uuidv7();
      const seen: TaskStatus[] = [];
      const watcherSide = await another();
      const watch = await watcherSide.watch(id, (s) => seen.push(s));
      await backend.set(id, { state: 'running', attempt: 0 });
      await backend.set(id, { state: 'succeeded', attempt: 0, payload: 'ok' });
      const deadline = Date.now() + 2_000;
      while (seen.length < 2 && Date.now() < deadline) await sleep(10);
      expect(seen.map((s) => s.state)).toEqual(['running', 'succeeded']);
      expect(seen[1]!.payload).toBe('ok');
      await watch.close();
      await backend.set(id, { state: 'failed', attempt: 1 });
      await sleep(200);
      expect(seen).toHaveLength(2);
    });

    it('persists progress and heartbeats without changing the state', async () => {
      const id = uuidv7();
      await backend.set(id, { state: 'running', attempt: 0 });
      const at = Date.now();
      await backend.touch(id, { progress: { percent: 40, data: { step: 'upload' }, updatedAt: at } });
      await backend.touch(id, { heartbeatAt: at + 1 });
      const status = await backend.get(id);
      expect(status).toMatchObject({ state: 'running', progress: { percent: 40, data: { step: 'upload' } }, heartbeatAt: at + 1 });
      await backend.set(id, { state: 'succeeded', attempt: 0 });
      expect((await backend.get(id))?.progress?.percent).toBe(40);
      await backend.touch(id, { meta: { note: 'kept', n: 2 } });
      expect(await backend.get(id)).toMatchObject({ state: 'succeeded', meta: { note: 'kept', n: 2 } });
      const unknown = uuidv7();
      await backend.touch(unknown, { heartbeatAt: at });
      expect(await backend.get(unknown)).toBeNull();
    });

    it('lists statuses by state and queue, most recently updated first, with paging', async () => {
      const queue = uniqueName('q');
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const id = uuidv7();
        ids.push(id);
        await backend.set(id, { state: 'succeeded', attempt: 0, queue, name: 'list.task' });
        await sleep(5);
      }
      await backend.set(uuidv7(), { state: 'failed', attempt: 0, queue, name: 'list.task' });
      const page = await backend.listStatuses({ queue, state: 'succeeded', limit: 2 });
      expect(page.items.map((s) => s.id)).toEqual([ids[2], ids[1]]);
      const rest = await backend.listStatuses({ queue, state: 'succeeded', limit: 2, offset: page.nextOffset });
      expect(rest.items.map((s) => s.id)).toEqual([ids[0]]);
      expect(rest.nextOffset).toBeUndefined();
      expect((await backend.listStatuses({ queue, state: 'failed' })).items).toHaveLength(1);
    });
  });
}
