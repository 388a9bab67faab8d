import { InMemoryBroker, InMemoryControlStore } from '../../lib/adapters/memory/index.js';
import { BroadcastControlChannel } from '../../lib/core/index.js';
import { runControlChannelContractTests } from '../../lib/testing/control-channel.contract.js';
import { runRevokeStoreContractTests } from '../../lib/testing/revoke-store.contract.js';

// An in-memory store is its own backing store: both instances of one test are the same object.
const store = new InMemoryControlStore();
runRevokeStoreContractTests('memory', { create: async () => store, dispose: async () => undefined });

// The in-memory broadcast reaches every subscriber of the same broker.
const broker = new InMemoryBroker();
runControlChannelContractTests('memory', {
  open: async (namespace) => ({ channel: new BroadcastControlChannel(broker, { namespace }), close: async () => undefined }),
});
