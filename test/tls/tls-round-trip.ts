import type { StemAdapters } from '../../lib/adapters/stem-adapters.factory.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';
import { Worker } from '../../lib/core/worker/worker.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';

/**
 * Publishes a task on the adapters, lets a worker on the same adapters run it, and returns what
 * the producer reads back from the result backend.
 */
export async function roundTrip(adapters: StemAdapters): Promise<{ state: string | undefined; value: unknown }> {
  const queue = uniqueName('tls');
  const registry = new SimpleTaskRegistry([{ name: 'tls.echo', options: { queue }, call: (_ctx, args: { text: string }) => `echo: ${args.text}` }]);
  const backend = adapters.backend!;
  const worker = new Worker({ broker: adapters.broker, backend, registry, queues: [queue], concurrency: 1 });
  await worker.start();
  try {
    const stem = new Stem({ broker: adapters.broker, backend, registry });
    const id = await stem.enqueue('tls.echo', { text: 'over TLS' });
    const result = await stem.waitForTask<string>(id, { timeout: 10_000 });
    return { state: result.status?.state, value: result.value };
  } finally {
    await worker.close();
  }
}
