import { type Envelope, PublishOutcomeUnknownError, SimpleTaskRegistry, Stem, Worker } from 'nestjs-stem/core';
import { InMemoryBroker, InMemoryResultBackend } from 'nestjs-stem/memory';

/** A broker whose connection drops once right after the task was stored, before the answer came back. */
class CutOffBroker extends InMemoryBroker {
  cuts = 1;
  override async publish(envelope: Envelope): Promise<void> {
    await super.publish(envelope);
    if (this.cuts-- > 0) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
  }
}

let runs = 0;
const broker = new CutOffBroker();
const backend = new InMemoryResultBackend();
const registry = new SimpleTaskRegistry([{ name: 'invoice.send', call: async (ctx) => (runs++, ctx.idempotencyKey()) }]);
const stem = new Stem({ broker, backend, registry });
const worker = new Worker({ broker, backend, registry, concurrency: 1 });
await worker.start();

// #region retry
/** Enqueues `name`; while the outcome of a publish is unknown, enqueues it again under the same id. */
async function enqueueSurely(stem: Stem, name: string, args: unknown, tries = 3): Promise<string> {
  let taskId: string | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await stem.enqueue(name, args, taskId ? { taskId } : {});
    } catch (error) {
      // PublishError: nothing was enqueued. PublishOutcomeUnknownError (a subclass): maybe it was.
      if (!(error instanceof PublishOutcomeUnknownError) || attempt >= tries) throw error;
      taskId = error.taskIds[0]; // the same id again is safe
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}
// #endregion

const id = await enqueueSurely(stem, 'invoice.send', { invoice: 42 });
const result = await stem.waitForTask<string>(id, { timeout: 5_000 });
for (let waited = 0; runs < 2 && waited < 5_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10)); // the second copy runs too
console.log(result.status?.state, result.value === `invoice.send/${id}`, runs); // succeeded true 2
await worker.close();
