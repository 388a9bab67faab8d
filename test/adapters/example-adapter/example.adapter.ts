import { InMemoryGroupStore } from '../../../lib/adapters/memory/in-memory.group-store.js';
import { InMemoryLockStore } from '../../../lib/adapters/memory/in-memory.lock-store.js';
import { InMemoryRateLimiter } from '../../../lib/adapters/memory/in-memory.rate-limiter.js';
import { InMemoryResultBackend } from '../../../lib/adapters/memory/in-memory.result-backend.js';
import { registerAdapter } from '../../../lib/adapters/registry/index.js';
import { ExampleBroker } from './example.broker.js';

/** The scheme the example store registers: `example://<anything>`. */
export const EXAMPLE_SCHEME = 'example';

// The one registration a new store needs. The example has no schedule store of its own, so
// `scheduleStore` is left out; the other kinds borrow the in-memory stores.
registerAdapter(EXAMPLE_SCHEME, async () => ({
  broker: async () => new ExampleBroker(),
  backend: async () => new InMemoryResultBackend(),
  lockStore: async () => new InMemoryLockStore(),
  rateLimiter: async () => new InMemoryRateLimiter(),
  groupStore: async () => new InMemoryGroupStore(),
}));
