import { InMemoryBroker, InMemoryLockStore, InMemoryRateLimiter, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import type { Broker } from '../../lib/core/contracts/broker.js';
import type { ResultBackend } from '../../lib/core/contracts/result-backend.js';
import { runBrokerContractTests } from '../../lib/testing/broker.contract.js';
import { runLockStoreContractTests } from '../../lib/testing/lock-store.contract.js';
import { runRateLimiterContractTests } from '../../lib/testing/rate-limiter.contract.js';
import { runResultBackendContractTests } from '../../lib/testing/result-backend.contract.js';

// An in-memory store is its own backing store: every "instance" of one test is the same object.
let broker: Broker | undefined;
runBrokerContractTests('memory', {
  create: async () => (broker ??= new InMemoryBroker()),
  dispose: async (b) => {
    await b.close();
    broker = undefined;
  },
});

let backend: ResultBackend | undefined;
runResultBackendContractTests('memory', {
  create: async () => (backend ??= new InMemoryResultBackend()),
  dispose: async (b) => {
    await b.close();
    backend = undefined;
  },
});

runLockStoreContractTests('memory', { create: async () => new InMemoryLockStore() });
runRateLimiterContractTests('memory', { create: async () => new InMemoryRateLimiter() });
