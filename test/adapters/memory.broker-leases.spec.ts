import { describe, expect, it } from 'vitest';
import { InMemoryBroker } from '../../lib/adapters/memory/index.js';
import { TestClock } from '../../lib/core/index.js';
import { makeEnvelope } from '../../lib/testing/contract-helpers.js';

describe('in-memory broker leases', () => {
  it('each lease runs out at its own deadline, whatever the mix of durations, renewals and acks', async () => {
    const clock = new TestClock(1_000_000);
    const broker = new InMemoryBroker({ clock });
    const queue = 'leases';
    const short = makeEnvelope(queue, { visibilityTimeout: 1_000 });
    const long = makeEnvelope(queue, { visibilityTimeout: 3_000 });
    const renewed = makeEnvelope(queue, { visibilityTimeout: 1_000 });
    const acked = makeEnvelope(queue, { visibilityTimeout: 1_000 });
    for (const env of [short, long, renewed, acked]) await broker.publish(env);
    const consumer = broker.consume({ queues: [queue], consumerName: 'c1' });
    const first = await consumer.fetch(10, new AbortController().signal);
    expect(first.map((d) => d.envelope.id)).toEqual([short.id, long.id, renewed.id, acked.id]);
    const byId = new Map(first.map((d) => [d.envelope.id, d]));
    await broker.ack(byId.get(acked.id)!);
    await clock.advance(500);
    await broker.extendLease(byId.get(renewed.id)!, 2_000); // now runs to 2,500 ms

    const ready = () => broker.pendingCount(queue);
    await clock.advance(499); // 999 ms
    expect(await ready()).toBe(0);
    await clock.advance(1); // 1,000 ms: the short lease ran out
    expect(await ready()).toBe(1);
    await clock.advance(1_499); // 2,499 ms
    expect(await ready()).toBe(1);
    await clock.advance(1); // 2,500 ms: the renewed one
    expect(await ready()).toBe(2);
    await clock.advance(500); // 3,000 ms: the long one
    expect(await ready()).toBe(3);
    await clock.advance(10_000);
    expect(await ready()).toBe(3); // the acked one never comes back

    const again = await consumer.fetch(10, new AbortController().signal);
    expect(again.map((d) => d.envelope.id).sort()).toEqual([short.id, long.id, renewed.id].sort());
    await expect(broker.extendLease(byId.get(short.id)!, 1_000)).rejects.toThrow(/lease/i);
    await consumer.close();
    await broker.close();
  });
});

describe('in-memory broker leases handed straight to a waiting fetch', () => {
  it('a lapse that re-leases to a parked fetch leaves the next lease its own deadline', async () => {
    const clock = new TestClock(2_000_000);
    const broker = new InMemoryBroker({ clock });
    const queue = 'parked';
    const a = makeEnvelope(queue, { visibilityTimeout: 1_000 });
    const b = makeEnvelope(queue, { visibilityTimeout: 1_000 });
    const first = broker.consume({ queues: [queue], consumerName: 'first' });
    await broker.publish(a);
    const [leasedA] = await first.fetch(1, new AbortController().signal);
    await clock.advance(500);
    await broker.publish(b);
    const [leasedB] = await first.fetch(1, new AbortController().signal);
    expect([leasedA?.envelope.id, leasedB?.envelope.id]).toEqual([a.id, b.id]);

    const second = broker.consume({ queues: [queue], consumerName: 'second' });
    const parked = second.fetch(1, new AbortController().signal);
    await clock.advance(500); // 1,000 ms: A lapses and goes to the parked fetch at once
    expect((await parked).map((d) => d.envelope.id)).toEqual([a.id]);
    await clock.advance(499); // 1,499 ms
    expect(await broker.pendingCount(queue)).toBe(0);
    await clock.advance(1); // 1,500 ms: B's lease ran out on time
    expect(await broker.pendingCount(queue)).toBe(1);
    await first.close();
    await second.close();
    await broker.close();
  });
});

describe('in-memory broker ready times', () => {
  it('oldestReadyAt follows the oldest envelope still waiting as envelopes are taken', async () => {
    const clock = new TestClock(1_000_000);
    const broker = new InMemoryBroker({ clock });
    const queue = 'ready-times';
    for (let i = 0; i < 3; i++) await broker.publish(makeEnvelope(queue));
    await clock.advance(10);
    for (let i = 0; i < 2; i++) await broker.publish(makeEnvelope(queue));
    const consumer = broker.consume({ queues: [queue], consumerName: 'c1' });
    const signal = new AbortController().signal;
    expect((await broker.queueStats(queue)).oldestReadyAt).toBe(1_000_000);
    await consumer.fetch(2, signal);
    expect((await broker.queueStats(queue)).oldestReadyAt).toBe(1_000_000);
    await consumer.fetch(1, signal);
    expect((await broker.queueStats(queue)).oldestReadyAt).toBe(1_000_010);
    await consumer.fetch(2, signal);
    expect((await broker.queueStats(queue)).oldestReadyAt).toBeNull();
    await clock.advance(5);
    await broker.publish(makeEnvelope(queue));
    expect((await broker.queueStats(queue)).oldestReadyAt).toBe(1_000_015);
    await broker.close();
  });
});
