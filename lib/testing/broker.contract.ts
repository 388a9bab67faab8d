import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type BrokerBroadcast,
  type Broker,
  BROKER_CAPABILITIES,
  brokerSupports,
  type Consumer,
  type DeadLetterAdmin,
  hasBroadcast,
  hasDeadLetterAdmin,
  requireBrokerCapability,
  supportsPriorities,
} from '../core/contracts/broker.js';
import { UnsupportedCapabilityError } from '../core/errors/unsupported-capability.error.js';
import { deadLetterFilterCases } from './broker-dead-letters.contract.js';
import { fetchAll, fetchWithin, makeEnvelope, sleep, uniqueName } from './contract-helpers.js';

/** How a contract suite gets fresh adapter instances. */
export interface BrokerContractFactory {
  /** A new broker on the shared backing store. */
  create(): Promise<Broker>;
  /** Disposes a broker made by `create` (default: `broker.close()`). */
  dispose?(broker: Broker): Promise<void>;
}

/** Timing knobs of the broker contract suite. */
export interface BrokerContractSettings {
  /** Lease used by lease tests, in ms. @default 600 */
  readonly visibilityTimeout?: number;
  /** Slack allowed for timers and round trips, in ms. @default 250 */
  readonly settle?: number;
}

/**
 * The behaviours every {@link Broker} must show. Call it from a spec file with a factory for the
 * adapter under test; every test uses its own queue names, so suites can run side by side. Tests
 * of an optional capability (dead-letter admin, broadcast, priorities) are skipped for a broker
 * that leaves it out, and the suite checks that asking for it fails with a clear error instead.
 *
 * @example
 * runBrokerContractTests('memory', { create: async () => new InMemoryBroker() });
 */
export function runBrokerContractTests(adapter: string, factory: BrokerContractFactory, settings: BrokerContractSettings = {}): void {
  const lease = settings.visibilityTimeout ?? 600;
  const settle = settings.settle ?? 250;

  describe(`Broker contract: ${adapter}`, () => {
    let broker: Broker;
    let queue: string;
    const opened: Broker[] = [];
    const consumers: Consumer[] = [];
    const consumer = (queues: string[] = [queue], on: Broker = broker) => {
      const c = on.consume({ queues, consumerName: uniqueName('consumer'), defaultVisibilityTimeout: lease });
      consumers.push(c);
      return c;
    };
    const another = async () => {
      const b = await factory.create();
      opened.push(b);
      return b;
    };

    /** The broker typed with dead-letter admin; skips the calling test when it has none. */
    const admin = (skip: () => void): Broker & DeadLetterAdmin => {
      if (!hasDeadLetterAdmin(broker)) skip();
      return broker as Broker & DeadLetterAdmin;
    };
    /** `on` typed with a broadcast channel; skips the calling test when it has none. */
    const fanOut = (skip: () => void, on: Broker): Broker & BrokerBroadcast => {
      if (!hasBroadcast(on)) skip();
      return on as Broker & BrokerBroadcast;
    };

    beforeEach(async () => {
      broker = await factory.create();
      opened.push(broker);
      queue = uniqueName('q');
    });

    afterEach(async () => {
      for (const c of consumers.splice(0)) await c.close();
      for (const b of opened.splice(0)) await (factory.dispose ? factory.dispose(b) : b.close());
    });

    it('publishes, delivers and acks: an acked envelope is gone', async () => {
      const env = makeEnvelope(queue, { args: { to: 'a@b.c' }, headers: { 'x-tenant': 'a' }, meta: { k: 'v' } });
      await broker.publish(env);
      const c = consumer();
      const [d] = await fetchWithin(c, 1, 2_000);
      expect(d?.envelope).toMatchObject({ id: env.id, name: env.name, args: { to: 'a@b.c' }, headers: { 'x-tenant': 'a' }, meta: { k: 'v' }, attempt: 0 });
      expect(d!.leaseExpiresAt).toBeGreaterThan(Date.now());
      await broker.ack(d!);
      expect(await broker.pendingCount(queue)).toBe(0);
      expect(await broker.inflightCount(queue)).toBe(0);
      await sleep(lease + settle);
      expect(await fetchWithin(c, 1, settle)).toEqual([]);
    });

    it('delivers to the queue it was published to and no other', async () => {
      const other = uniqueName('q');
      await broker.publish(makeEnvelope(other));
      expect(await fetchWithin(consumer([queue]), 1, settle)).toEqual([]);
      expect(await fetchWithin(consumer([other]), 1, 2_000)).toHaveLength(1);
    });

    it('consumes several queues through one consumer', async () => {
      const other = uniqueName('q');
      await broker.publish(makeEnvelope(queue));
      await broker.publish(makeEnvelope(other));
      const got = await fetchAll(consumer([queue, other]), 2, 2_000);
      expect(got.map((d) => d.envelope.queue).sort()).toEqual([queue, other].sort());
    });

    it('fetches at most the number asked for', async () => {
      for (let i = 0; i < 5; i++) await broker.publish(makeEnvelope(queue));
      const c = consumer();
      expect(await fetchWithin(c, 2, 2_000)).toHaveLength(2);
      expect(await fetchAll(c, 3, 2_000)).toHaveLength(3);
    });

    it('counts pending and inflight through the lifecycle', async () => {
      await broker.publish(makeEnvelope(queue));
      await broker.publish(makeEnvelope(queue));
      expect(await broker.pendingCount(queue)).toBe(2);
      const [d] = await fetchWithin(consumer(), 1, 2_000);
      expect(await broker.pendingCount(queue)).toBe(1);
      expect(await broker.inflightCount(queue)).toBe(1);
      await broker.ack(d!);
      expect(await broker.inflightCount(queue)).toBe(0);
    });

    it('redelivers the same id after nack with requeue', async () => {
      const env = makeEnvelope(queue);
      await broker.publish(env);
      const c = consumer();
      const [d] = await fetchWithin(c, 1, 2_000);
      await broker.nack(d!, { requeue: true });
      const [again] = await fetchWithin(c, 1, 2_000);
      expect(again?.envelope.id).toBe(env.id);
    });

    it('drops the envelope on nack without requeue', async () => {
      await broker.publish(makeEnvelope(queue));
      const c = consumer();
      const [d] = await fetchWithin(c, 1, 2_000);
      await broker.nack(d!, { requeue: false });
      expect(await fetchWithin(c, 1, lease + settle)).toEqual([]);
      expect(await broker.inflightCount(queue)).toBe(0);
    });

    it('requeues a replacement envelope (retry) hidden until its notBefore', async () => {
      const env = makeEnvelope(queue);
      await broker.publish(env);
      const c = consumer();
      const [d] = await fetchWithin(c, 1, 2_000);
      await broker.nack(d!, { requeue: true, envelope: { ...env, attempt: 1, notBefore: Date.now() + 400 } });
      expect(await fetchWithin(c, 1, 200)).toEqual([]);
      const [retry] = await fetchWithin(c, 1, 2_000);
      expect(retry?.envelope).toMatchObject({ id: env.id, attempt: 1 });
    });

    it('dead-letters a delivery: it leaves the queue and is never redelivered', async () => {
      const env = makeEnvelope(queue, { visibilityTimeout: lease });
      await broker.publish(env);
      const c = consumer();
      const [d] = await fetchWithin(c, 1, 2_000);
      await broker.deadLetter(d!, 'max-retries-exhausted', { error: { type: 'Error', message: 'boom' } });
      expect(await broker.inflightCount(queue)).toBe(0);
      expect(await broker.pendingCount(queue)).toBe(0);
      expect(await fetchWithin(c, 1, lease + settle)).toEqual([]);
    });

    it('asking for a capability it leaves out fails with an error naming the broker and the capability', async () => {
      for (const capability of BROKER_CAPABILITIES) {
        if (brokerSupports(broker, capability)) {
          expect(requireBrokerCapability(broker, capability, 'test it')).toBe(broker);
        } else {
          expect(() => requireBrokerCapability(broker, capability, 'test it')).toThrow(UnsupportedCapabilityError);
          expect(() => requireBrokerCapability(broker, capability, 'test it')).toThrow(new RegExp(`Cannot test it: the "${broker.name}" broker has no ${capability} capability`));
        }
      }
    });

    it('dead-letters with reason and meta; list, get and purge them', async ({ skip }) => {
      const dlq = admin(skip);
      const env = makeEnvelope(queue);
      await broker.publish(env);
      const [d] = await fetchWithin(consumer(), 1, 2_000);
      await broker.deadLetter(d!, 'max-retries-exhausted', { error: { type: 'Error', message: 'boom' } });
      const page = await dlq.listDeadLetters(queue);
      expect(page.items).toHaveLength(1);
      expect(page.items[0]).toMatchObject({ reason: 'max-retries-exhausted', envelope: { id: env.id } });
      const entry = await dlq.getDeadLetter(queue, env.id);
      expect(entry?.meta).toEqual({ error: { type: 'Error', message: 'boom' } });
      expect(entry?.deadAt).toBeGreaterThan(0);
      expect(await dlq.getDeadLetter(queue, 'missing')).toBeNull();
      expect(await dlq.purgeDeadLetters(queue)).toBe(1);
      expect((await dlq.listDeadLetters(queue)).items).toEqual([]);
      expect(await broker.inflightCount(queue)).toBe(0);
    });

    it('pages dead letters newest first', async ({ skip }) => {
      const dlq = admin(skip);
      const c = consumer();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const env = makeEnvelope(queue);
        ids.push(env.id);
        await broker.publish(env);
        const [d] = await fetchWithin(c, 1, 2_000);
        await broker.deadLetter(d!, 'invalid-args');
        await sleep(5);
      }
      const first = await dlq.listDeadLetters(queue, { limit: 2 });
      expect(first.items.map((e) => e.envelope.id)).toEqual([ids[2], ids[1]]);
      const second = await dlq.listDeadLetters(queue, { limit: 2, offset: first.nextOffset });
      expect(second.items.map((e) => e.envelope.id)).toEqual([ids[0]]);
      expect(second.nextOffset).toBeUndefined();
    });

    it('replays dead letters: a dry run changes nothing, a real one redelivers the same id', async ({ skip }) => {
      const dlq = admin(skip);
      const env = makeEnvelope(queue);
      await broker.publish(env);
      const c = consumer();
      const [d] = await fetchWithin(c, 1, 2_000);
      await broker.deadLetter(d!, 'max-retries-exhausted');
      const dry = await dlq.replayDeadLetters(queue, { dryRun: true });
      expect(dry).toMatchObject({ dryRun: true });
      expect(dry.entries.map((e) => e.envelope.id)).toEqual([env.id]);
      expect((await dlq.listDeadLetters(queue)).items).toHaveLength(1);
      expect(await fetchWithin(c, 1, settle)).toEqual([]);
      const real = await dlq.replayDeadLetters(queue);
      expect(real.entries).toHaveLength(1);
      const [again] = await fetchWithin(c, 1, 2_000);
      expect(again?.envelope).toMatchObject({ id: env.id, attempt: 1 });
      expect((await dlq.listDeadLetters(queue)).items).toEqual([]);
    });

    it('replays with a delay: hidden until due', async ({ skip }) => {
      const dlq = admin(skip);
      await broker.publish(makeEnvelope(queue));
      const c = consumer();
      const [d] = await fetchWithin(c, 1, 2_000);
      await broker.deadLetter(d!, 'expired');
      await dlq.replayDeadLetters(queue, { delay: 500 });
      expect(await fetchWithin(c, 1, 250)).toEqual([]);
      expect(await fetchWithin(c, 1, 2_000)).toHaveLength(1);
    });

    it('replays only entries since a time', async ({ skip }) => {
      const dlq = admin(skip);
      const c = consumer();
      await broker.publish(makeEnvelope(queue));
      await broker.deadLetter((await fetchWithin(c, 1, 2_000))[0]!, 'a');
      await sleep(30);
      const since = Date.now();
      await sleep(5);
      const late = makeEnvelope(queue);
      await broker.publish(late);
      await broker.deadLetter((await fetchWithin(c, 1, 2_000))[0]!, 'b');
      const dry = await dlq.replayDeadLetters(queue, { since, dryRun: true });
      expect(dry.entries.map((e) => e.envelope.id)).toEqual([late.id]);
    });

    deadLetterFilterCases({ broker: () => broker, queue: () => queue, consumer: () => consumer(), admin });

    it('purges pending envelopes and dead letters', async () => {
      await broker.publish(makeEnvelope(queue));
      await broker.publish(makeEnvelope(queue, { notBefore: Date.now() + 60_000 }));
      const c = consumer();
      await broker.publish(makeEnvelope(queue));
      const [d] = await fetchWithin(c, 1, 2_000);
      await broker.deadLetter(d!, 'x');
      expect(await broker.purge(queue)).toBeGreaterThanOrEqual(2);
      expect(await broker.pendingCount(queue)).toBe(0);
      if (hasDeadLetterAdmin(broker)) expect((await broker.listDeadLetters(queue)).items).toEqual([]);
      expect(await fetchWithin(c, 1, settle)).toEqual([]);
    });

    it('redelivers an unacked envelope after its lease lapses', async () => {
      const env = makeEnvelope(queue, { visibilityTimeout: lease });
      await broker.publish(env);
      const first = consumer();
      const [d] = await fetchWithin(first, 1, 2_000);
      expect(d).toBeDefined();
      const second = consumer();
      const [again] = await fetchWithin(second, 1, lease * 4 + 2_000);
      expect(again?.envelope.id).toBe(env.id);
    });

    it('extendLease hides the delivery until the new deadline, then redelivers the same id', async () => {
      const env = makeEnvelope(queue, { visibilityTimeout: lease });
      await broker.publish(env);
      const c = consumer();
      const [d] = await fetchWithin(c, 1, 2_000);
      const start = Date.now();
      await broker.extendLease(d!, lease * 3);
      expect(d!.leaseExpiresAt).toBeGreaterThanOrEqual(start + lease * 3 - settle);
      const other = consumer();
      expect(await fetchWithin(other, 1, lease * 2)).toEqual([]);
      const [again] = await fetchWithin(other, 1, lease * 4 + 2_000);
      expect(again?.envelope.id).toBe(env.id);
      expect(Date.now() - start).toBeGreaterThanOrEqual(lease * 3 - settle);
    });

    it('rejects extendLease and ignores ack for a delivery whose lease was lost', async () => {
      const env = makeEnvelope(queue, { visibilityTimeout: lease });
      await broker.publish(env);
      const [stale] = await fetchWithin(consumer(), 1, 2_000);
      const [fresh] = await fetchWithin(consumer(), 1, lease * 4 + 2_000);
      expect(fresh?.envelope.id).toBe(env.id);
      await expect(broker.extendLease(stale!, 10_000)).rejects.toThrow(/lease/i);
      await broker.ack(stale!);
      await broker.extendLease(fresh!, 10_000);
      await broker.ack(fresh!);
    });

    it('keeps notBefore envelopes invisible and uncounted until due', async () => {
      await broker.publish(makeEnvelope(queue, { notBefore: Date.now() + 500 }));
      expect(await broker.pendingCount(queue)).toBe(0);
      const c = consumer();
      expect(await fetchWithin(c, 1, 250)).toEqual([]);
      expect(await fetchWithin(c, 1, 2_000)).toHaveLength(1);
    });

    it('delivers priority 9 before priority 1, FIFO within a priority', async ({ skip }) => {
      if (!supportsPriorities(broker)) skip();
      const low = makeEnvelope(queue, { priority: 1 });
      const highA = makeEnvelope(queue, { priority: 9 });
      const highB = makeEnvelope(queue, { priority: 9 });
      await broker.publish(low);
      await broker.publish(highA);
      await broker.publish(highB);
      const got = await fetchAll(consumer(), 3, 2_000);
      expect(got.map((d) => d.envelope.id)).toEqual([highA.id, highB.id, low.id]);
    });

    it('wakes a blocked fetch when work is published, and publishing does not wait for it', async () => {
      const c = consumer();
      const pending = c.fetch(1, AbortSignal.timeout(5_000));
      await sleep(50);
      const env = makeEnvelope(queue);
      const publisher = await another();
      const started = Date.now();
      await publisher.publish(env);
      expect(Date.now() - started).toBeLessThan(1_000);
      const [d] = await pending;
      expect(d?.envelope.id).toBe(env.id);
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    it('resolves a blocked fetch with nothing when its signal aborts', async () => {
      const controller = new AbortController();
      const pending = consumer().fetch(1, controller.signal);
      setTimeout(() => controller.abort(), 50);
      expect(await pending).toEqual([]);
    });

    it('broadcasts reach every subscriber', async ({ skip }) => {
      fanOut(skip, broker);
      const channel = uniqueName('ch');
      const peer = await another();
      const a: unknown[] = [];
      const b: unknown[] = [];
      const subA = await fanOut(skip, broker).subscribeBroadcast(channel, (m) => a.push(m.payload));
      const subB = await fanOut(skip, peer).subscribeBroadcast(channel, (m) => b.push(m.payload));
      await fanOut(skip, broker).broadcast(channel, { cmd: 'ping' });
      const deadline = Date.now() + 2_000;
      while ((a.length === 0 || b.length === 0) && Date.now() < deadline) await sleep(10);
      expect(a).toEqual([{ cmd: 'ping' }]);
      expect(b).toEqual([{ cmd: 'ping' }]);
      await subA.close();
      await subB.close();
    });
  });
}
