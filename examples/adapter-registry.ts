// A store registered under its own URL scheme. This one hands out the in-memory broker, so the
// example runs anywhere; a real store returns its own classes from the loader.
// #region register
import { createStemAdapters, InMemoryBroker, registerAdapter } from 'nestjs-stem';

registerAdapter('lab', async () => {
  // A real store loads its module here (`await import('./amqp/amqp.broker.js')`), so its driver
  // is only required once a `lab://` URL is used.
  return { broker: async () => new InMemoryBroker() }; // kinds left out must be given another URL
});

// The other kinds default to the broker's URL; this store has only a broker, so name theirs.
const others = { backend: 'memory://', lockStore: 'memory://', rateLimiter: 'memory://', groupStore: 'memory://' };
const adapters = await createStemAdapters({ broker: 'lab://local', ...others });
console.log(adapters.broker.name); // memory
// #endregion
await adapters.close();
