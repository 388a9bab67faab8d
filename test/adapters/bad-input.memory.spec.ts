import { describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import type { Envelope } from '../../lib/core/envelope.js';
import { fetchWithin, makeEnvelope, sleep, uniqueName } from '../../lib/testing/contract-helpers.js';
import { malformedPatches, OK_TASK, runBadInputTests } from './bad-input.suite.js';

const deep = (depth: number) => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

describe('InMemoryBroker with bad input', () => {
  runBadInputTests(async () => {
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    return {
      broker,
      backend,
      inject: async (queue, phase) => {
        const base = () => makeEnvelope(queue, { name: OK_TASK, args: { i: 'never' } });
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        const bad: unknown[] = phase === 'before'
          ? malformedPatches().map((patch) => ({ ...base(), ...patch }))
          : [{ ...base(), args: deep(10_000) }, { ...base(), args: cyclic }, { ...base(), args: { n: 10n } }, { ...base(), id: 'dup-1', priority: 1.5 }, { ...base(), id: 'dup-1', priority: 1.5 }];
        for (const envelope of bad) await broker.publish(envelope as Envelope);
        return { malformed: bad.length, valid: [] };
      },
      checkDeadLetters: (_queue, dead) => {
        expect(dead.filter((d) => d.envelope.id === 'dup-1')).toHaveLength(2);
      },
      close: async () => {
        await broker.close();
      },
    };
  });

  it('drops dead letters older than the retention', async () => {
    const broker = new InMemoryBroker({ deadLetterRetention: 200 });
    const queue = uniqueName('ret');
    await broker.publish(makeEnvelope(queue));
    const [d] = await fetchWithin(broker.consume({ queues: [queue], consumerName: 'c' }), 1, 1_000);
    await broker.deadLetter(d!, 'expired');
    expect((await broker.listDeadLetters(queue)).items).toHaveLength(1);
    await sleep(300);
    expect((await broker.listDeadLetters(queue)).items).toEqual([]);
    expect(await broker.getDeadLetter(queue, d!.envelope.id)).toBeNull();
    await broker.close();
  });
});
