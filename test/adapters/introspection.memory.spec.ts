import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { runIntrospectionContractTests } from '../../lib/testing/introspection.contract.js';

runIntrospectionContractTests('memory', {
  create: async (options) => ({ broker: new InMemoryBroker(), backend: new InMemoryResultBackend(options) }),
  argsSearch: true,
});
