import { InMemoryGroupStore } from '../../lib/adapters/memory/index.js';
import { runGroupStoreContractTests } from '../../lib/testing/group-store.contract.js';

// An in-memory store is its own backing store: every "instance" of one test is the same object.
let store: InMemoryGroupStore | undefined;
runGroupStoreContractTests('memory', {
  create: async () => (store ??= new InMemoryGroupStore()),
  dispose: async (s) => {
    await s.close();
    store = undefined;
  },
});
