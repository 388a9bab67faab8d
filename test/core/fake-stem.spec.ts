import { Controller, Injectable, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { StemClient } from '../../lib/index.js';
import { FakeStem, TestClock } from '../../lib/testing/index.js';
import { InMemoryBroker } from '../../lib/adapters/memory/index.js';
import { makeEnvelope } from '../../lib/testing/contract-helpers.js';

@Controller()
class ReportController {
  constructor(private readonly stem: StemClient) {}

  @Post()
  async build(): Promise<string> {
    const id = await this.stem.enqueue('report.build', { month: '2026-10' }, { priority: 7 });
    const res = await this.stem.waitForTask<string>(id);
    return res.value ?? 'pending';
  }
}

describe('FakeStem', () => {
  it('replaces StemClient in a testing module and records enqueues', async () => {
    const fake = new FakeStem();
    const moduleRef = await Test.createTestingModule({ controllers: [ReportController], providers: [fake.provider()] }).compile();
    const controller = moduleRef.get(ReportController);
    expect(await controller.build()).toBe('pending');
    const [call] = fake.enqueued('report.build');
    expect(call).toMatchObject({ name: 'report.build', args: { month: '2026-10' }, options: { priority: 7 } });
    fake.succeed(call!.id, 'report.pdf');
    expect((await fake.waitForTask(call!.id)).value).toBe('report.pdf');
    fake.fail(call!.id, new TypeError('no data'));
    expect(await fake.getTaskStatus(call!.id)).toMatchObject({ state: 'failed', error: { type: 'TypeError', message: 'no data' } });
    fake.clear();
    expect(fake.enqueued()).toEqual([]);
  });

  it('records the meta of a withMeta scope, the call meta winning', async () => {
    const fake = new FakeStem();
    await fake.withMeta({ requestId: 'r-1', user: 'scope' }, () => fake.enqueue('a', {}, { meta: { user: 'call' } }));
    await fake.enqueue('b');
    expect(fake.enqueued('a')[0]!.options.meta).toEqual({ requestId: 'r-1', user: 'call' });
    expect(fake.enqueued('b')[0]!.options).toEqual({});
  });
});

@Injectable()
class Alerts {
  readonly sent: string[] = [];
  constructor(stem: StemClient) {
    stem.signals.on('task-failed', ({ envelope, error }) => void this.sent.push(`${envelope.name}: ${error.message}`), { filter: { queue: 'billing' } });
  }
}

describe('FakeStem signals', () => {
  it('gives code under test a real signal hub the test emits on', async () => {
    const fake = new FakeStem();
    const moduleRef = await Test.createTestingModule({ providers: [Alerts, fake.provider()] }).compile();
    const envelope = (queue: string) => ({ ...makeEnvelope(queue), name: 'billing.charge' });
    const error = { type: 'Error', message: 'card declined', retryable: false };
    fake.signals.emit('task-failed', { envelope: envelope('billing'), workerId: 'w1', error });
    fake.signals.emit('task-failed', { envelope: envelope('emails'), workerId: 'w1', error });
    expect(moduleRef.get(Alerts).sent).toEqual(['billing.charge: card declined']);
  });
});

describe('TestClock', () => {
  it('makes delayed envelopes visible only when time is advanced', async () => {
    const clock = new TestClock(1_000_000);
    const broker = new InMemoryBroker({ clock });
    await broker.publish(makeEnvelope('q', { notBefore: clock.now() + 60_000 }));
    const consumer = broker.consume({ queues: ['q'], consumerName: 'c' });
    expect(await consumer.fetch(1, AbortSignal.timeout(20))).toEqual([]);
    await clock.advance(59_999);
    expect(await broker.pendingCount('q')).toBe(0);
    await clock.advance(1);
    expect(await broker.pendingCount('q')).toBe(1);
    const [d] = await consumer.fetch(1, AbortSignal.timeout(20));
    await clock.advance(30_000);
    expect(await broker.pendingCount('q')).toBe(1);
    expect(d).toBeDefined();
    await broker.close();
  });
});
