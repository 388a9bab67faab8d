import { context, trace } from '@opentelemetry/api';
import type { EnqueueCall, TaskProducer } from '../contracts/producer.js';

interface Pending {
  readonly call: EnqueueCall;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Most run tasks one batch publishes. */
const MAX_BATCH = 500;

/**
 * Publishes the run tasks of a workflow runtime: those asked for in the same tick (a burst of
 * starts, the continuations of many runs) go out as one `enqueueManySettled` batch, one broker
 * round trip where the broker batches, each call still failing on its own; a lone one, one made
 * inside a trace span, or any with a producer that has no settled batch, is a plain `enqueue`.
 */
export class RunTaskEnqueuer {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(private readonly producer: TaskProducer) {}

  /** Enqueues `call`; resolves once it was published. */
  enqueue(call: EnqueueCall): Promise<void> {
    // NOTE: a batch is published in the context of its first call; a call made inside a span
    // goes out on its own, so its send span gets that span as parent.
    if (!this.producer.enqueueManySettled || trace.getSpanContext(context.active())) return this.one(call);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ call, resolve, reject });
      if (this.pending.length >= MAX_BATCH) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        process.nextTick(() => this.flush());
      }
    });
  }

  private async one(call: EnqueueCall): Promise<void> {
    await this.producer.enqueue(call.name, call.args, call.options, call.taskOptions);
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    if (batch.length === 1) {
      const [only] = batch as [Pending];
      this.one(only.call).then(only.resolve, only.reject);
      return;
    }
    this.producer.enqueueManySettled!(batch.map((p) => p.call)).then(
      (outcomes) =>
        batch.forEach((p, i) => {
          const outcome = outcomes[i];
          if (outcome?.ok) p.resolve();
          else p.reject(outcome ? outcome.error : new Error('the batch reported no outcome for this run task'));
        }),
      (error: unknown) => {
        for (const p of batch) p.reject(error);
      },
    );
  }
}
