import { describe, expect, it } from 'vitest';
import { InMemoryBroker } from '../../lib/adapters/memory/index.js';
import { fetchWithin, makeEnvelope, sleep, uniqueName } from '../../lib/testing/contract-helpers.js';
import { memoryBadInputFixture } from './bad-input.fixtures.js';
import { runBadInputTests } from './bad-input.suite.js';

describe('InMemoryBroker with bad input', () => {
  runBadInputTests(async () => memoryBadInputFixture());

  it('dead-letters an envelope whose notBefore lies past the last Date instead of holding it forever', async () => {
    const broker = new InMemoryBroker();
    const queue = uniqueName('nb');
    await broker.publish(makeEnvelope(queue, { notBefore: Infinity }));
    await broker.publish(makeEnvelope(queue, { notBefore: 1e300 }));
    const consumer = broker.consume({ queues: [queue], consumerName: 'c' });
    expect(await fetchWithin(consumer, 2, 300)).toEqual([]);
    const dead = (await broker.listDeadLetters(queue)).items;
    expect(dead.map((d) => d.reason)).toEqual(['malformed-envelope', 'malformed-envelope']);
    expect(JSON.stringify(dead.map((d) => d.meta))).toMatch(/notBefore must be a finite number/);
    await consumer.close();
    await broker.close();
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
