import { InMemoryBroker } from '../../lib/adapters/memory/in-memory.broker.js';
import { InMemoryResultBackend } from '../../lib/adapters/memory/in-memory.result-backend.js';
import { runRoutingTests } from './routing.suite.js';

// NOTE: memory brokers live in one process, so "separate instances" share one broker and backend here.
let shared: { broker: InMemoryBroker; backend: InMemoryResultBackend } | undefined;
runRoutingTests('memory', {
  open: async () => (shared ??= { broker: new InMemoryBroker(), backend: new InMemoryResultBackend() }),
  close: async () => {
    await shared?.broker.close();
    shared = undefined;
  },
});
