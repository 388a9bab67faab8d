import { describe, expect, it } from 'vitest';
import { InMemoryWorkflowStore } from '../../lib/adapters/memory/index.js';
import { runWorkflowStoreContractTests } from '../../lib/testing/workflow-store.contract.js';

runWorkflowStoreContractTests('memory', { create: async (clock) => new InMemoryWorkflowStore({ clock }) });

describe('InMemoryWorkflowStore with many checkpoints', () => {
  it('finds, overwrites and rewinds checkpoints of a run past its name index threshold', async () => {
    const store = new InMemoryWorkflowStore();
    const run = await store.createRun({ workflow: 'pages', params: {} });
    for (let i = 0; i < 40; i++) expect(await store.saveStep(run.id, `page#${i}`, { i })).toBe(true);
    expect(await store.saveStep(run.id, 'page#3', { i: 'again' })).toBe(true);
    expect((await store.readStep(run.id, 'page#3'))?.value).toEqual({ i: 'again' });
    expect(await store.readStep(run.id, 'page#39')).toMatchObject({ position: 39, value: { i: 39 } });
    await store.rewindToStep(run.id, 'page#20');
    expect(await store.readStep(run.id, 'page#25')).toBeNull();
    expect((await store.get(run.id))?.cursor).toBe(20);
    await store.markResumed(run.id);
    expect(await store.saveStep(run.id, 'page#20', 'new')).toBe(true);
    expect(await store.readStep(run.id, 'page#20')).toMatchObject({ position: 20, value: 'new' });
    expect((await store.listSteps(run.id)).map((s) => s.name)).toEqual(Array.from({ length: 21 }, (_, i) => `page#${i}`));
  });
});
