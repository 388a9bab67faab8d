import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GroupMemberResult, GroupStore } from '../core/canvas/group-store.js';
import { sleep, uniqueName } from './contract-helpers.js';

/** How the group store suite gets fresh instances. */
export interface GroupStoreContractFactory {
  /** A new store instance on the shared backing store. */
  create(): Promise<GroupStore>;
  dispose?(store: GroupStore): Promise<void>;
}

const ok = (taskId: string, payload: unknown): GroupMemberResult => ({ taskId, state: 'succeeded', payload, resultEncoder: 'json' });

/**
 * The behaviours every {@link GroupStore} must show: ordered slots, idempotent adds, atomic
 * concurrent adds, reset on re-init, expiry (TTL 200 ms), a single chord-claim winner across
 * instances, claims that lapse after their timeout unless marked dispatched.
 */
export function runGroupStoreContractTests(adapter: string, factory: GroupStoreContractFactory): void {
  describe(`GroupStore contract: ${adapter}`, () => {
    let store: GroupStore;
    let id: string;
    const opened: GroupStore[] = [];
    const another = async () => {
      const s = await factory.create();
      opened.push(s);
      return s;
    };
    beforeEach(async () => {
      store = await another();
      id = uniqueName('group');
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await (factory.dispose ? factory.dispose(s) : s.close());
    });

    it('collects results in body order, keeps meta, and reports completion', async () => {
      await store.initGroup(id, 3, { owner: 'test', nested: { a: [1, 2] } });
      expect(await store.addResult(id, 2, ok('t2', 'c'))).toMatchObject({ completed: 1, isComplete: false, failed: 0 });
      await store.addResult(id, 0, ok('t0', 'a'));
      const status = await store.addResult(id, 1, { taskId: 't1', state: 'failed', error: { type: 'TypeError', message: 'bad', retryable: false } });
      expect(status).toMatchObject({ id, expected: 3, completed: 3, failed: 1, isComplete: true, meta: { owner: 'test', nested: { a: [1, 2] } } });
      expect(status!.results.map((r) => r?.taskId)).toEqual(['t0', 't1', 't2']);
      expect(status!.results[0]).toMatchObject({ state: 'succeeded', payload: 'a', resultEncoder: 'json' });
      expect(status!.results[1]).toMatchObject({ state: 'failed', error: { type: 'TypeError', message: 'bad' } });
      expect(await store.getGroup(id)).toMatchObject({ completed: 3, isComplete: true });
    });

    it('returns null for unknown groups', async () => {
      expect(await store.addResult(uniqueName('missing'), 0, ok('t', 1))).toBeNull();
      expect(await store.getGroup(uniqueName('missing'))).toBeNull();
      expect(await store.claimChord(uniqueName('missing'), 'cb')).toBe(false);
    });

    it('treats a repeated add for the same index as an overwrite, not a new member', async () => {
      await store.initGroup(id, 2);
      await store.addResult(id, 0, ok('t0', 1));
      const status = await store.addResult(id, 0, ok('t0', 2));
      expect(status).toMatchObject({ completed: 1, isComplete: false });
      expect(status!.results[0]).toMatchObject({ payload: 2 });
    });

    it('rejects an index outside the group', async () => {
      await store.initGroup(id, 2);
      await expect(store.addResult(id, 2, ok('t', 1))).rejects.toThrow(RangeError);
      await expect(store.addResult(id, -1, ok('t', 1))).rejects.toThrow(RangeError);
    });

    it('records concurrent adds from several instances without losing any', async () => {
      const other = await another();
      await store.initGroup(id, 50);
      await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? store : other).addResult(id, i, ok(`t${i}`, i))));
      const status = await store.getGroup(id);
      expect(status).toMatchObject({ completed: 50, isComplete: true });
      expect(status!.results.map((r) => r?.payload)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    });

    it('resets results and the chord claim when a group is initialised again', async () => {
      await store.initGroup(id, 2, { v: 1 });
      await store.addResult(id, 0, ok('t0', 1));
      expect(await store.claimChord(id, 'cb')).toBe(true);
      await store.initGroup(id, 3, { v: 2 });
      const status = await store.getGroup(id);
      expect(status).toMatchObject({ expected: 3, completed: 0, meta: { v: 2 } });
      expect(status!.chordClaimedBy).toBeUndefined();
      expect(status!.results).toEqual([null, null, null]);
      expect(await store.claimChord(id, 'cb')).toBe(true);
    });

    it('createGroup creates a group once and leaves an existing one untouched', async () => {
      const first = await store.createGroup(id, 2, { v: 1 });
      expect(first).toMatchObject({ created: true, group: { id, expected: 2, completed: 0, meta: { v: 1 } } });
      await store.addResult(id, 1, ok('t1', 'b'));
      expect(await store.claimChord(id, 'submitter')).toBe(true);
      const again = await store.createGroup(id, 5, { v: 2 });
      expect(again.created).toBe(false);
      expect(again.group).toMatchObject({ expected: 2, completed: 1, meta: { v: 1 }, chordClaimedBy: 'submitter' });
      expect(again.group.results[1]).toMatchObject({ taskId: 't1', payload: 'b' });
    });

    it('createGroup creates for exactly one of many concurrent callers across instances', async () => {
      const other = await another();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).createGroup(id, 3, { caller: i })));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const winner = results.find((r) => r.created)!.group.meta;
      for (const r of results) expect(r.group.meta).toEqual(winner);
    });

    it('createGroup replaces a group whose TTL passed', async () => {
      await store.createGroup(id, 1, { v: 1 }, 200);
      await store.addResult(id, 0, ok('t0', 1));
      await sleep(400);
      const renewed = await store.createGroup(id, 2, { v: 2 });
      expect(renewed).toMatchObject({ created: true, group: { expected: 2, completed: 0, meta: { v: 2 } } });
      expect(renewed.group.results).toEqual([null, null]);
    });

    it('expires a group after its TTL; a late add returns null', async () => {
      await store.initGroup(id, 2, {}, 200);
      await store.addResult(id, 0, ok('t0', 1));
      await sleep(400);
      expect(await store.getGroup(id)).toBeNull();
      expect(await store.addResult(id, 1, ok('t1', 1))).toBeNull();
    });

    it('gives the chord claim to exactly one of many concurrent callers across instances', async () => {
      const other = await another();
      await store.initGroup(id, 1);
      const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).claimChord(id, 'callback-1')));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect((await store.getGroup(id))!.chordClaimedBy).toBe('callback-1');
      expect(await store.claimChord(id, 'callback-1')).toBe(false);
    });

    it('lets a later attempt take over a claim that lapsed before the chord was dispatched', async () => {
      const other = await another();
      await store.initGroup(id, 1);
      expect(await store.claimChord(id, 'callback-1', 200)).toBe(true);
      const held = await store.getGroup(id);
      expect(held!.chordClaimExpiresAt).toBeGreaterThan(Date.now() - 1_000);
      expect(held!.chordDispatched).toBeUndefined();
      expect(await other.claimChord(id, 'callback-1', 200)).toBe(false);
      await sleep(400);
      expect(await other.claimChord(id, 'callback-1', 10_000)).toBe(true);
      expect(await store.claimChord(id, 'callback-1', 200)).toBe(false);
    });

    it('never gives out a claim again once the chord is marked dispatched', async () => {
      await store.initGroup(id, 1);
      expect(await store.claimChord(id, 'callback-1', 100)).toBe(true);
      await store.markChordDispatched(id, 'callback-1');
      await store.releaseChord(id, 'callback-1');
      await sleep(250);
      expect(await store.claimChord(id, 'callback-1', 100)).toBe(false);
      const status = await store.getGroup(id);
      expect(status).toMatchObject({ chordDispatched: true, chordClaimedBy: 'callback-1' });
      expect(status!.chordClaimExpiresAt).toBeUndefined();
    });

    it('gives a released claim to the next caller', async () => {
      await store.initGroup(id, 1);
      expect(await store.claimChord(id, 'callback-1')).toBe(true);
      await store.releaseChord(id, 'callback-1');
      expect((await store.getGroup(id))!.chordClaimedBy).toBeUndefined();
      expect(await store.claimChord(id, 'callback-1')).toBe(true);
    });

    it('gives a lapsed claim to exactly one of many concurrent callers across instances', async () => {
      const other = await another();
      await store.initGroup(id, 1);
      expect(await store.claimChord(id, 'callback-1', 100)).toBe(true);
      await sleep(250);
      const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).claimChord(id, 'callback-1', 10_000)));
      expect(claims.filter(Boolean)).toHaveLength(1);
    });
  });
}
