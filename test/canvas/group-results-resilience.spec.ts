import { describe, expect, it } from 'vitest';
import { InMemoryBroker, InMemoryGroupStore } from '../../lib/adapters/memory/index.js';
import { groupResults } from '../../lib/core/canvas/group-results.js';
import type { GroupMemberResult } from '../../lib/core/canvas/group-store.js';
import { QueueEvents, QueueEventsProducer } from '../../lib/core/index.js';

describe('one bad item does not stop the others', () => {
  it('group results: a member whose result cannot be decoded is yielded as failed, and the members after it still arrive', async () => {
    const store = new InMemoryGroupStore();
    await store.initGroup('g1', 3);
    await store.addResult('g1', 0, { taskId: 't0', state: 'succeeded', payload: 'a', completedAt: 1 });
    await store.addResult('g1', 1, { taskId: 't1', state: 'succeeded', payload: 'bad', resultEncoder: 'gone', completedAt: 2 });
    await store.addResult('g1', 2, { taskId: 't2', state: 'succeeded', payload: 'c', completedAt: 3 });
    const decode = (r: GroupMemberResult) => {
      if (r.resultEncoder === 'gone') throw new Error('no encoder "gone" in this process');
      return r.payload as string;
    };
    const seen: { taskId: string; state: string; value?: string; error?: string }[] = [];
    for await (const m of groupResults(store, 'g1', decode, { pollInterval: 10, timeout: 2_000 })) {
      seen.push({ taskId: m.taskId, state: m.state, ...(m.value !== undefined ? { value: m.value } : {}), ...(m.error ? { error: m.error.message } : {}) });
    }
    expect(seen).toEqual([
      { taskId: 't0', state: 'succeeded', value: 'a' },
      { taskId: 't1', state: 'failed', error: 'result of task t1 could not be decoded: no encoder "gone" in this process' },
      { taskId: 't2', state: 'succeeded', value: 'c' },
    ]);
  });

  it('queue events: a start that failed (the broker was away) can be tried again', async () => {
    const broker = new InMemoryBroker();
    const subscribe = broker.subscribeBroadcast.bind(broker);
    let away = true;
    broker.subscribeBroadcast = (channel, listener) => {
      if (away) {
        away = false;
        return Promise.reject(new Error('broker away'));
      }
      return subscribe(channel, listener);
    };
    const events = new QueueEvents('orders', broker);
    const got: unknown[] = [];
    events.on('order.shipped', (event) => void got.push(event.payload));
    await expect(events.start()).rejects.toThrow('broker away');
    await events.start();
    await new QueueEventsProducer(broker).emit('orders', 'order.shipped', { orderId: 7 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(got).toEqual([{ orderId: 7 }]);
    await events.close();
  });
});
