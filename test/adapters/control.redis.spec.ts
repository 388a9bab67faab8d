import { afterAll, describe } from 'vitest';
import { RedisControlStore, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { BroadcastControlChannel } from '../../lib/core/index.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { runControlChannelContractTests } from '../../lib/testing/control-channel.contract.js';
import { runRevokeStoreContractTests } from '../../lib/testing/revoke-store.contract.js';
import { deleteKeys, uniquePrefix } from '../redis/redis-test-utils.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

const available = await redisAvailable();
const prefix = uniquePrefix('control');
const namespace = uniqueName('ns');

describe.runIf(available)('Redis control plane', () => {
  afterAll(() => deleteKeys(REDIS_URL, prefix));

  runRevokeStoreContractTests('redis', { create: () => RedisControlStore.connect(REDIS_URL, { prefix, namespace }) });
  // NOTE: every broker subscribes on its own pub/sub connection, so each end is a separate connection.
  runControlChannelContractTests('redis', {
    open: async (ns) => {
      const broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
      return { channel: new BroadcastControlChannel(broker, { namespace: ns }), close: () => broker.close() };
    },
  });
});
