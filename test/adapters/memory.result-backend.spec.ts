import { describe, expect, it } from 'vitest';
import { InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { TestClock } from '../../lib/core/index.js';

/** Exposes how many statuses the backend holds, expired ones included. */
class CountingBackend extends InMemoryResultBackend {
  get held(): number {
    return this.entries.size;
  }
}

describe('in-memory result backend: expired statuses', () => {
  it('are swept as new ones are written, so a long-running process holds about the live ones only', async () => {
    const clock = new TestClock();
    const backend = new CountingBackend({ clock, defaultTtl: 1_000 });
    let most = 0;
    for (let i = 0; i < 60_000; i++) {
      await backend.set(`task-${i}`, { state: 'succeeded', attempt: 1, payload: i });
      if (i % 100 === 99) await clock.advance(10); // 1,000 ms hold about 10,000 writes
      most = Math.max(most, backend.held);
    }
    expect(most).toBeLessThanOrEqual(25_000);
    expect(await backend.get('task-59999')).toMatchObject({ state: 'succeeded', payload: 59_999 });
    expect(await backend.get('task-0')).toBeNull();
  });

  it('a status written again keeps its recorded arguments and its createdAt', async () => {
    const clock = new TestClock();
    const backend = new InMemoryResultBackend({ clock });
    await backend.set('t1', { state: 'queued', attempt: 1, args: { to: 'a@b.c' } });
    await clock.advance(5);
    await backend.set('t1', { state: 'running', attempt: 1 });
    await backend.set('t1', { state: 'succeeded', attempt: 1, payload: 'ok' });
    const status = await backend.getWithArgs('t1');
    expect(status).toMatchObject({ state: 'succeeded', payload: 'ok', args: { to: 'a@b.c' } });
    expect(status!.updatedAt - status!.createdAt).toBe(5);
  });
});

describe('in-memory result backend: statuses handed out', () => {
  it('a status once read stays as it was read, whatever is written later or done to another read', async () => {
    const backend = new InMemoryResultBackend();
    await backend.set('a', { state: 'queued', attempt: 0, meta: { encoder: 'json' } });
    await backend.set('b', { state: 'queued', attempt: 0, meta: { encoder: 'json' } });
    await backend.set('c', { state: 'queued', attempt: 0, meta: { encoder: 'json' } });
    const queued = await backend.get('a');
    await backend.set('a', { state: 'succeeded', attempt: 0, payload: 1, meta: { result: 'json' } });
    expect(queued).toMatchObject({ state: 'queued', payload: undefined, meta: { encoder: 'json' } });
    expect(queued!.meta).not.toHaveProperty('result');

    // NOTE: equal meta of two tasks must not be one object a reader can change for both.
    const b = await backend.get('b');
    (b!.meta as Record<string, unknown>).encoder = 'changed by a reader';
    expect((await backend.get('a'))!.meta).toEqual({ encoder: 'json', result: 'json' });
    expect((await backend.get('c'))!.meta).toEqual({ encoder: 'json' });
  });

  it('watchers see each write in order, and a reader that changes its status changes nothing stored', async () => {
    const backend = new InMemoryResultBackend();
    const seen: string[] = [];
    await backend.watch('t', (status) => seen.push(`${status.state}:${String(status.payload)}`));
    await backend.set('t', { state: 'queued', attempt: 0 });
    await backend.set('t', { state: 'running', attempt: 0 });
    await backend.set('t', { state: 'succeeded', attempt: 0, payload: 7 });
    expect(seen).toEqual(['queued:undefined', 'running:undefined', 'succeeded:7']);
    expect(await backend.get('t')).toEqual(await backend.get('t'));
    await backend.set('r', { state: 'succeeded', attempt: 0, payload: { items: [1] }, meta: { nested: { x: 1 } } });
    const read = (await backend.get('r'))!;
    (read.payload as { items: number[] }).items.push(2);
    (read.meta.nested as { x: number }).x = 2;
    await backend.touch('r', { progress: { percent: 50, updatedAt: 1 } });
    expect(await backend.get('r')).toMatchObject({ payload: { items: [1] }, meta: { nested: { x: 1 } } });
  });
});
