import { InMemoryBroker, InMemoryGroupStore, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { runCanvasTests } from './canvas.suite.js';

let shared: { broker: InMemoryBroker; backend: InMemoryResultBackend; groupStore: InMemoryGroupStore } | undefined;
runCanvasTests('memory', {
  create: async () => (shared ??= { broker: new InMemoryBroker(), backend: new InMemoryResultBackend(), groupStore: new InMemoryGroupStore() }),
  dispose: async () => {
    await shared?.broker.close();
    shared = undefined;
  },
});
