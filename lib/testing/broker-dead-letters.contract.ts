import { expect, it } from 'vitest';
import type { Broker, Consumer, DeadLetterAdmin } from '../core/contracts/broker.js';
import { fetchWithin, makeEnvelope, sleep } from './contract-helpers.js';

/** What the dead-letter filter cases need from the broker contract suite that runs them. */
export interface DeadLetterFilterCaseContext {
  /** The broker under test. */
  broker(): Broker;
  /** This test's queue. */
  queue(): string;
  /** A consumer of this test's queue (closed by the suite). */
  consumer(): Consumer;
  /** The broker typed with dead-letter admin; skips the calling test when it has none. */
  admin(skip: () => void): Broker & DeadLetterAdmin;
}

/**
 * The cases of `ids` and `reason` in replays and purges (part of `runBrokerContractTests`): the
 * filters combine with `since` and `limit`, an empty id list selects nothing, and an entry's own
 * `deadAt` used as `since` selects it.
 */
export function deadLetterFilterCases(ctx: DeadLetterFilterCaseContext): void {
  /** Dead-letters one envelope per reason, in order; returns their task ids. */
  const deadLetter = async (reasons: readonly string[]): Promise<string[]> => {
    const c = ctx.consumer();
    const ids: string[] = [];
    for (const reason of reasons) {
      const env = makeEnvelope(ctx.queue());
      ids.push(env.id);
      await ctx.broker().publish(env);
      const [d] = await fetchWithin(c, 1, 2_000);
      await ctx.broker().deadLetter(d!, reason, { error: { type: 'Error', message: reason } });
      // NOTE: apart in time, so "oldest first" has one answer.
      await sleep(3);
    }
    return ids;
  };
  const idsOf = (entries: readonly { envelope: { id: string } }[]) => entries.map((e) => e.envelope.id);

  it('replays only the dead letters of the given task ids and reason, oldest first', async ({ skip }) => {
    const dlq = ctx.admin(skip);
    const queue = ctx.queue();
    const [a, b, c, d] = await deadLetter(['expired', 'invalid-args', 'expired', 'expired']);
    const dry = (options: Parameters<typeof dlq.replayDeadLetters>[1]) => dlq.replayDeadLetters(queue, { ...options, dryRun: true }).then((r) => idsOf(r.entries));
    expect(await dry({ ids: [d!, b!] })).toEqual([b, d]);
    expect(await dry({ reason: 'expired' })).toEqual([a, c, d]);
    expect(await dry({ reason: 'expired', limit: 2 })).toEqual([a, c]);
    expect(await dry({ ids: [a!, b!], reason: 'expired' })).toEqual([a]);
    expect(await dry({ ids: [] })).toEqual([]);
    expect(await dry({ ids: ['no-such-task'] })).toEqual([]);
    const real = await dlq.replayDeadLetters(queue, { ids: [c!] });
    expect(idsOf(real.entries)).toEqual([c]);
    const [again] = await fetchWithin(ctx.consumer(), 1, 2_000);
    expect(again?.envelope).toMatchObject({ id: c, attempt: 1 });
    expect(idsOf((await dlq.listDeadLetters(queue)).items)).toEqual([d, b, a]);
  });

  it('purges exactly the dead letters of the given task ids and reason', async ({ skip }) => {
    const dlq = ctx.admin(skip);
    const queue = ctx.queue();
    const [, b, c, d] = await deadLetter(['expired', 'invalid-args', 'expired', 'expired']);
    expect(await dlq.purgeDeadLetters(queue, { ids: [c!] })).toBe(1);
    expect(await dlq.purgeDeadLetters(queue, { ids: [c!] })).toBe(0);
    expect(await dlq.purgeDeadLetters(queue, { ids: [] })).toBe(0);
    expect(await dlq.purgeDeadLetters(queue, { ids: [b!], reason: 'expired' })).toBe(0);
    expect(await dlq.purgeDeadLetters(queue, { reason: 'expired', limit: 1 })).toBe(1);
    expect(idsOf((await dlq.listDeadLetters(queue)).items)).toEqual([d, b]);
    expect(await dlq.purgeDeadLetters(queue, { reason: 'invalid-args' })).toBe(1);
    expect(idsOf((await dlq.listDeadLetters(queue)).items)).toEqual([d]);
  });

  it('selects a dead letter by its own deadAt: since = entry.deadAt includes the entry', async ({ skip }) => {
    const dlq = ctx.admin(skip);
    const queue = ctx.queue();
    const ids = await deadLetter(['expired', 'expired', 'expired', 'expired']);
    for (const entry of (await dlq.listDeadLetters(queue)).items) {
      const selected = await dlq.replayDeadLetters(queue, { since: entry.deadAt, limit: ids.length, dryRun: true });
      expect(idsOf(selected.entries), `since ${entry.deadAt}`).toContain(entry.envelope.id);
    }
  });
}
