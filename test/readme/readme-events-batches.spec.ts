// Runs the README's queue events, batches and group results examples and checks they do what the
// README says (the blocks themselves are checked against the files by readme-examples.spec.ts).
import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StemClient } from '../../lib/index.js';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const close of closers.splice(0).reverse()) await close();
});

async function context<T>(module: new () => T): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({ imports: [module] })
    .setLogger({ log() {}, warn() {}, error() {} })
    .compile();
  closers.push(() => moduleRef.close());
  await moduleRef.init();
  return moduleRef;
}

const until = async (check: () => boolean, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('README: queue events, batches, group results', () => {
  it('queue events: the task emits order.shipped; both decorated handlers get it, with the header', async () => {
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')));
    const { QueueEventsModule, ShippingNotifications } = await import('../../examples/queue-events.js');
    const app = await context(QueueEventsModule);
    const stem = app.get(StemClient);
    expect((await stem.waitForTask(await stem.enqueue('orders.ship', { orderId: 42 }), { timeout: 5_000 })).value).toBe('shipped');
    const notifications = app.get(ShippingNotifications);
    await until(() => notifications.notified.length === 1 && printed.length === 1);
    expect(notifications.notified).toEqual(['acme:42']);
    expect(printed[0]).toMatch(/^orders: order\.shipped at \d{4}-/);
  });

  it('queue events without Nest: the listener prints what the comment says', async () => {
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')));
    const { withoutNest } = await import('../../examples/queue-events.js');
    expect(await withoutNest()).toBe('order.shipped 7 (checkout)');
    expect(printed).toEqual(['order.shipped 7 (checkout)']);
  });

  it('batches: a second start of the same file returns the same batch; progress ends partial with the failed row', async () => {
    const { BatchesModule, Imports } = await import('../../examples/batches.js');
    const app = await context(BatchesModule);
    const imports = app.get(Imports);
    const first = await imports.start('f1', [1, -2, 3]);
    const again = await imports.start('f1', [1, -2, 3]);
    expect([first.created, again.created]).toEqual([true, false]);
    expect(again.taskIds).toEqual(first.taskIds);
    expect((await again.wait({ timeout: 5_000 })).values).toEqual([10, undefined, 30]);
    expect(await imports.progress('f1')).toEqual({
      state: 'partial',
      counts: { queued: 0, running: 0, retried: 0, succeeded: 2, failed: 1, cancelled: 0 },
      failedTaskIds: [first.taskIds[1]],
    });
    expect(await imports.progress('unknown')).toBeNull();
  });

  it('group results: thumbnails in completion order, the failed image logged', async () => {
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')));
    const { ThumbnailsModule, Thumbnails } = await import('../../examples/canvas-results.js');
    const app = await context(ThumbnailsModule);
    expect(await app.get(Thumbnails).render([3, 1, -1, 2])).toEqual(['thumb-1', 'thumb-2', 'thumb-3']);
    expect(printed).toEqual(['image -1 failed: no image -1']);
  });
});
