import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { describe, expect, it } from 'vitest';
import type { EnqueueCall, EnqueueOutcome, TaskProducer } from '../../lib/core/contracts/producer.js';
import { RunTaskEnqueuer } from '../../lib/core/workflow/run-task-enqueuer.js';

/** A producer that records what it was asked to publish; calls whose run id is `bad` are refused. */
function recordingProducer(): { producer: TaskProducer; single: string[]; batches: string[][] } {
  const single: string[] = [];
  const batches: string[][] = [];
  const runIdOf = (call: EnqueueCall) => (call.args as { runId: string }).runId;
  const producer = {
    enqueue: async (_name: string, args: unknown) => {
      single.push((args as { runId: string }).runId);
      return 'id';
    },
    enqueueManySettled: async (calls: readonly EnqueueCall[]): Promise<EnqueueOutcome[]> => {
      batches.push(calls.map(runIdOf));
      return calls.map((call) => (runIdOf(call) === 'bad' ? { ok: false, error: new Error('refused') } : { ok: true, id: 'id' }));
    },
  } as unknown as TaskProducer;
  return { producer, single, batches };
}

const call = (runId: string): EnqueueCall => ({ name: 'stem.workflow.run', args: { runId } });

describe('RunTaskEnqueuer', () => {
  it('publishes the run tasks asked for in one tick as one batch, and a refused one fails alone', async () => {
    const { producer, single, batches } = recordingProducer();
    const enqueuer = new RunTaskEnqueuer(producer);
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((id) => enqueuer.enqueue(call(id))));
    expect(batches).toEqual([['a', 'bad', 'c']]);
    expect(single).toEqual([]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'refused' });
  });

  it('sends a lone run task as a plain enqueue', async () => {
    const { producer, single, batches } = recordingProducer();
    const enqueuer = new RunTaskEnqueuer(producer);
    await enqueuer.enqueue(call('a'));
    await enqueuer.enqueue(call('b'));
    expect(single).toEqual(['a', 'b']);
    expect(batches).toEqual([]);
  });

  it('sends run tasks asked for inside a trace span one by one, each in its own span context', async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const { producer, single, batches } = recordingProducer();
      const enqueuer = new RunTaskEnqueuer(producer);
      const inSpan = (runId: string, traceId: string) =>
        context.with(trace.setSpanContext(context.active(), { traceId, spanId: '00f067aa0ba902b7', traceFlags: 1 }), () => enqueuer.enqueue(call(runId)));
      await Promise.all([inSpan('a', '4bf92f3577b34da6a3ce929d0e0e4736'), inSpan('b', '5bf92f3577b34da6a3ce929d0e0e4736')]);
      expect(single).toEqual(['a', 'b']);
      expect(batches).toEqual([]);
    } finally {
      context.disable();
    }
  });
});
