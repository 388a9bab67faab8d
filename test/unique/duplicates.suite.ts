import { expect, it } from 'vitest';
import { type Broker, type LockStore, type ResultBackend, Stem, UniqueMeta, UniqueTaskCoordinator } from '../../lib/core/index.js';

/** What one producer process of the duplicates test uses. */
export interface DuplicateProducerParts {
  readonly broker: Broker;
  readonly backend: ResultBackend;
  readonly lockStore: LockStore;
}

/**
 * Two producers (each with its own connections) enqueue one owner and then 20 duplicates of it
 * at once; every duplicate id must be recorded under `stem.unique.duplicates`, none twice.
 */
export function itRecordsEveryConcurrentDuplicate(connect: () => Promise<DuplicateProducerParts>, queue: string): void {
  it('records all 20 duplicate ids of 20 concurrent duplicate enqueues from two producers', async () => {
    const parts = [await connect(), await connect()];
    try {
      const [a, b] = parts.map((p) => new Stem({ broker: p.broker, backend: p.backend, uniqueCoordinator: new UniqueTaskCoordinator({ lockStore: p.lockStore }) }));
      const args = { report: Math.random() };
      const owner = await a!.enqueue('reports.build', args, { unique: true, queue });
      const duplicateIds = Array.from({ length: 20 }, (_, i) => `${owner}-dup-${i}`);
      const returned = await Promise.all(duplicateIds.map((taskId, i) => (i % 2 ? a! : b!).enqueue('reports.build', args, { unique: true, queue, taskId })));
      expect(new Set(returned)).toEqual(new Set([owner]));
      const status = await a!.getTaskStatus(owner);
      const recorded = (status!.meta[UniqueMeta.duplicates] as { taskId: string }[]).map((d) => d.taskId);
      expect(recorded).toHaveLength(20);
      expect(new Set(recorded)).toEqual(new Set(duplicateIds));
      expect(status!.state).toBe('queued');
    } finally {
      for (const p of parts) for (const c of [p.broker, p.backend, p.lockStore]) await c.close();
    }
  });
}
