import { InMemoryBroker, InMemoryGroupStore, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { runBatchTests } from './batches.suite.js';
import { runCanvasTests } from './canvas.suite.js';

let shared: { broker: InMemoryBroker; backend: InMemoryResultBackend; groupStore: InMemoryGroupStore } | undefined;
const memoryFactory = {
  create: async () => (shared ??= { broker: new InMemoryBroker(), backend: new InMemoryResultBackend(), groupStore: new InMemoryGroupStore() }),
  dispose: async () => {
    await shared?.broker.close();
    shared = undefined;
  },
};
runCanvasTests('memory', memoryFactory);
runBatchTests('memory', memoryFactory);
