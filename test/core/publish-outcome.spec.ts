import { describe, expect, it } from 'vitest';
import { InMemoryBroker } from '../../lib/adapters/memory/in-memory.broker.js';
import { InMemoryResultBackend } from '../../lib/adapters/memory/in-memory.result-backend.js';
import type { QueuedPublish, QueuedPublishBroker } from '../../lib/core/contracts/queued-publish.js';
import type { Envelope } from '../../lib/core/envelope.js';
import { PublishError, PublishOutcomeUnknownError } from '../../lib/core/errors/publish.error.js';
import { StemError } from '../../lib/core/errors/stem.error.js';
import { publishCertainlyFailed } from '../../lib/core/producer/publish-outcome.js';
import { Stem } from '../../lib/core/stem.js';
import { SimpleTaskRegistry } from '../../lib/core/task-registry.js';

class SentButUnanswered extends StemError {
  readonly outcomeUnknown = true;
  constructor() {
    super('STEM_TEST_NO_REPLY', 'no reply within the bound');
  }
}

/** A broker whose folded publish fails with `error` (or records what it was given). */
function foldingBroker(error?: unknown): { broker: QueuedPublishBroker; folded: Envelope[][] } {
  const broker = new InMemoryBroker() as InMemoryBroker & QueuedPublishBroker;
  const folded: Envelope[][] = [];
  const publisher: QueuedPublish = {
    publish: async (envelopes) => {
      if (error) throw error;
      folded.push([...envelopes]);
    },
  };
  broker.queuedPublisher = () => publisher;
  return { broker, folded };
}

describe('publish outcome of a folded publish', () => {
  const registry = new SimpleTaskRegistry([{ name: 'report.build', call: () => 1 }]);

  it('counts an adapter error marked outcomeUnknown as unknown, other adapter errors as certain', () => {
    expect(publishCertainlyFailed(new SentButUnanswered())).toBe(false);
    expect(publishCertainlyFailed(new StemError('STEM_CLOSED', 'closed'))).toBe(true);
  });

  it('sends a batch to the folded publish in one call, and one enqueue as one envelope', async () => {
    const { broker, folded } = foldingBroker();
    const stem = new Stem({ broker, backend: new InMemoryResultBackend(), registry });
    await stem.enqueue('report.build', {});
    await stem.enqueueMany([{ name: 'report.build' }, { name: 'report.build' }]);
    expect(folded.map((call) => call.length)).toEqual([1, 2]);
  });

  it('reports an unanswered folded publish as PublishOutcomeUnknownError and leaves the status alone', async () => {
    const backend = new InMemoryResultBackend();
    const stem = new Stem({ broker: foldingBroker(new SentButUnanswered()).broker, backend, registry });
    const error = await stem.enqueue('report.build', {}, { taskId: 'maybe-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishOutcomeUnknownError);
    expect((error as PublishOutcomeUnknownError).taskIds).toEqual(['maybe-1']);
    expect(await backend.get('maybe-1')).toBeNull();
  });

  it('reports a refused folded publish as PublishError and records the failure', async () => {
    const backend = new InMemoryResultBackend();
    const refusal = Object.assign(new Error('ERR refused'), { name: 'ReplyError' });
    const stem = new Stem({ broker: foldingBroker(refusal).broker, backend, registry });
    const error = await stem.enqueue('report.build', {}, { taskId: 'no-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error).not.toBeInstanceOf(PublishOutcomeUnknownError);
    expect(await backend.get('no-1')).toMatchObject({ state: 'failed', error: { type: 'PublishError' } });
  });
});
