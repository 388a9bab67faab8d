import { InMemoryBroker } from '../../lib/adapters/memory/index.js';
import { runQueueEventsContractTests } from '../../lib/testing/queue-events.contract.js';

// An in-memory broker is its own backing store: every "instance" of one test is the same broker.
const broker = new InMemoryBroker();
runQueueEventsContractTests('memory', { create: async () => broker, dispose: async () => undefined });
