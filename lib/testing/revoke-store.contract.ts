import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ControlStore, RevokeEntry, WorkerHeartbeat } from '../core/contracts/control-store.js';
import { sleep, uniqueName } from './contract-helpers.js';

/** How the revoke store suite gets fresh instances (each `create` may share data with the others). */
export interface ControlStoreContractFactory {
  create(): Promise<ControlStore>;
  dispose?(store: ControlStore): Promise<void>;
}

function entry(taskId: string, version: number, extra: Partial<RevokeEntry> = {}): RevokeEntry {
  return { taskId, version, issuedAt: Date.now(), terminate: false, ...extra };
}

function heartbeat(workerId: string, extra: Partial<WorkerHeartbeat> = {}): WorkerHeartbeat {
  return {
    workerId,
    host: 'host-a',
    pid: 4242,
    queues: ['q1', 'q2'],
    pausedQueues: ['q2'],
    concurrency: 4,
    active: 1,
    startedAt: 1_000,
    sentAt: Date.now(),
    version: '1.0.0',
    succeeded: 3,
    failed: 1,
    retried: 2,
    ...extra,
  };
}

/**
 * The behaviours every {@link ControlStore} must show: versioned revocations (higher version
 * wins, expiry, prune), versioned queue pauses, and heartbeats with a TTL.
 */
export function runRevokeStoreContractTests(adapter: string, factory: ControlStoreContractFactory): void {
  describe(`RevokeStore contract: ${adapter}`, () => {
    let store: ControlStore;
    let other: ControlStore;
    beforeEach(async () => {
      store = await factory.create();
      other = await factory.create();
    });
    afterEach(async () => {
      for (const s of [store, other]) await (factory.dispose ? factory.dispose(s) : s.close());
    });
    const mine = (entries: RevokeEntry[], ids: string[]) => entries.filter((e) => ids.includes(e.taskId));

    it('stores entries with every field and lists them ordered by version', async () => {
      const [a, b] = [uniqueName('task'), uniqueName('task')];
      const expiresAt = Date.now() + 60_000;
      expect(await store.upsertRevokes([entry(b, 20, { terminate: true, reason: 'dup', requestedBy: 'ops', expiresAt }), entry(a, 10)])).toBe(2);
      const listed = mine(await other.listRevokes(), [a, b]);
      expect(listed.map((e) => e.taskId)).toEqual([a, b]);
      expect(listed[1]).toMatchObject({ taskId: b, version: 20, terminate: true, reason: 'dup', requestedBy: 'ops', expiresAt });
    });

    it('ignores a stale or equal version and keeps the newer entry', async () => {
      const id = uniqueName('task');
      await store.upsertRevokes([entry(id, 100, { reason: 'new' })]);
      expect(await other.upsertRevokes([entry(id, 50, { reason: 'old', terminate: true })])).toBe(0);
      expect(await other.upsertRevokes([entry(id, 100, { reason: 'same' })])).toBe(0);
      expect(mine(await store.listRevokes(), [id])).toEqual([expect.objectContaining({ version: 100, reason: 'new', terminate: false })]);
    });

    it('a higher version replaces the entry (terminate, reason)', async () => {
      const id = uniqueName('task');
      await store.upsertRevokes([entry(id, 1)]);
      expect(await other.upsertRevokes([entry(id, 2, { terminate: true, reason: 'stop it' })])).toBe(1);
      expect(mine(await store.listRevokes(), [id])).toEqual([expect.objectContaining({ version: 2, terminate: true, reason: 'stop it' })]);
    });

    it('lists only live entries, and prune deletes exactly the expired ones', async () => {
      const [live, forever, expired1, expired2] = [uniqueName('live'), uniqueName('forever'), uniqueName('exp'), uniqueName('exp')];
      const now = Date.now();
      await store.upsertRevokes([
        entry(live, 1, { expiresAt: now + 60_000 }),
        entry(forever, 2),
        entry(expired1, 3, { expiresAt: now - 10 }),
        entry(expired2, 4, { expiresAt: now - 5 }),
      ]);
      const ids = [live, forever, expired1, expired2];
      expect(mine(await store.listRevokes(now), ids).map((e) => e.taskId)).toEqual([live, forever]);
      expect(mine(await store.listRevokes(now - 20), ids)).toHaveLength(4);
      expect(await store.pruneRevokes(now)).toBeGreaterThanOrEqual(2);
      expect(mine(await store.listRevokes(now - 20), ids).map((e) => e.taskId)).toEqual([live, forever]);
      expect(await store.pruneRevokes(now)).toBe(0);
    });

    it('upserts a large batch in one call', async () => {
      const ids = Array.from({ length: 500 }, () => uniqueName('bulk'));
      expect(await store.upsertRevokes(ids.map((id, i) => entry(id, i + 1)))).toBe(500);
      expect(mine(await other.listRevokes(), ids)).toHaveLength(500);
    });

    it('keeps the latest pause state of a queue by version', async () => {
      const queue = uniqueName('queue');
      expect(await store.setQueuePause({ queue, paused: true, version: 10, updatedAt: 1, requestedBy: 'ops' })).toBe(true);
      expect(await other.setQueuePause({ queue, paused: false, version: 5, updatedAt: 2 })).toBe(false);
      expect((await other.listQueuePauses()).filter((p) => p.queue === queue)).toEqual([{ queue, paused: true, version: 10, updatedAt: 1, requestedBy: 'ops' }]);
      expect(await other.setQueuePause({ queue, paused: false, version: 11, updatedAt: 3 })).toBe(true);
      expect((await store.listQueuePauses()).filter((p) => p.queue === queue)).toEqual([expect.objectContaining({ paused: false, version: 11 })]);
    });

    it('lists heartbeats by worker id, replaces them in place, and forgets removed ones', async () => {
      const [a, b] = [uniqueName('w-a'), uniqueName('w-b')].sort();
      await store.recordHeartbeat(heartbeat(b!), 10_000);
      await store.recordHeartbeat(heartbeat(a!), 10_000);
      await other.recordHeartbeat(heartbeat(a!, { active: 3, succeeded: 9 }), 10_000);
      const listed = (await store.listHeartbeats()).filter((h) => h.workerId === a || h.workerId === b);
      expect(listed.map((h) => h.workerId)).toEqual([a, b]);
      expect(listed[0]).toEqual(heartbeat(a!, { active: 3, succeeded: 9, sentAt: listed[0]!.sentAt }));
      await other.removeHeartbeat(a!);
      expect((await store.listHeartbeats()).filter((h) => h.workerId === a || h.workerId === b).map((h) => h.workerId)).toEqual([b]);
    });

    it('drops a heartbeat after its TTL', async () => {
      const id = uniqueName('w');
      await store.recordHeartbeat(heartbeat(id), 200);
      expect((await other.listHeartbeats()).some((h) => h.workerId === id)).toBe(true);
      await sleep(400);
      expect((await other.listHeartbeats()).some((h) => h.workerId === id)).toBe(false);
    });
  });
}
