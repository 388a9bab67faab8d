import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBroker } from '../../lib/adapters/memory/in-memory.broker.js';
import { InMemoryGroupStore } from '../../lib/adapters/memory/in-memory.group-store.js';
import { InMemoryLockStore } from '../../lib/adapters/memory/in-memory.lock-store.js';
import { InMemoryResultBackend } from '../../lib/adapters/memory/in-memory.result-backend.js';
import { Canvas, task } from '../../lib/core/canvas/index.js';
import { EnvelopeSigner } from '../../lib/core/signing/envelope-signer.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { UniqueTaskCoordinator } from '../../lib/core/unique/unique-task-coordinator.js';
import { Worker } from '../../lib/core/worker/worker.js';

const routing = { broadcasts: ['cache'], routes: [{ match: { task: 'cache.*' }, target: { type: 'broadcast' as const, name: 'cache' } }] };

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function parts() {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  closers.push(() => broker.close());
  return { broker, backend };
}

describe('broadcast tasks', () => {
  it('are refused when unique, in a canvas or in a transaction, with a message saying what to do', async () => {
    const { broker, backend } = parts();
    const stem = new Stem({ broker, backend, routing, uniqueCoordinator: new UniqueTaskCoordinator({ lockStore: new InMemoryLockStore() }), groupStore: new InMemoryGroupStore() });
    await expect(stem.enqueue('cache.flush', {}, { unique: true })).rejects.toThrow(
      /routed to broadcast channel "cache" but is unique; route it to a queue, or pass \{ queue \} on this call/,
    );
    await expect(new Canvas(stem).group([task('cache.flush', {})])).rejects.toThrow(/but is a canvas member/);
    await expect(stem.enqueue('cache.flush', {}, { transaction: {} })).rejects.toThrow(/but is enqueued in a transaction/);
    // A call that names its queue is not routed, so it is an ordinary task.
    await stem.enqueue('cache.flush', {}, { queue: 'maintenance', unique: true });
    expect(await broker.pendingCount('maintenance')).toBe(1);
  });

  it('a signed broadcast is verified and each copy re-signed; a forged one is dead-lettered signature-invalid by the worker', async () => {
    const { broker, backend } = parts();
    const keys = { k1: randomBytes(32).toString('base64') };
    const registry = new SimpleTaskRegistry([{ name: 'cache.flush', call: () => 'ok' }]);
    const stem = new Stem({ broker, backend, registry, routing, signer: new EnvelopeSigner({ keys }) });
    const worker = new Worker({ broker, backend, registry, routing, broadcasts: ['cache'], id: 'w', signer: new EnvelopeSigner({ keys }) });
    closers.push(() => worker.close());
    const dead = new Promise<string>((resolve) => worker.signals.on('task-dead-lettered', ({ reason }) => resolve(reason)));
    await worker.start();
    const id = await stem.enqueue('cache.flush');
    expect((await stem.waitForTask(`${id}@w`, { timeout: 5_000 })).value).toBe('ok');
    const forged = new Stem({ broker, routing, signer: new EnvelopeSigner({ keys: { k1: randomBytes(32).toString('base64') } }) });
    const forgedId = await forged.enqueue('cache.flush');
    expect(await dead).toBe('signature-invalid');
    expect((await broker.getDeadLetter('cache@w', `${forgedId}@w`))?.reason).toBe('signature-invalid');
  });
});
