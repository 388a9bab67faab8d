import { afterAll, describe } from 'vitest';
import { PostgresBroker, PostgresControlStore } from '../../lib/adapters/postgres/index.js';
import { BroadcastControlChannel } from '../../lib/core/index.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { runControlChannelContractTests } from '../../lib/testing/control-channel.contract.js';
import { runRevokeStoreContractTests } from '../../lib/testing/revoke-store.contract.js';
import { postgresAvailable } from '../support/services.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';

const available = await postgresAvailable();
const schema = testSchema();
const namespace = uniqueName('ns');
let ends = 0;

describe.runIf(available)('Postgres control plane', () => {
  afterAll(() => dropSchema(schema));

  runRevokeStoreContractTests('postgres', { create: () => PostgresControlStore.connect(POSTGRES_URL, { schema, namespace, logger: recordingLogger() }) });
  // NOTE: a distinct application_name gives every end its own pool and LISTEN connection.
  runControlChannelContractTests('postgres', {
    open: async (ns) => {
      const broker = await PostgresBroker.connect(POSTGRES_URL, { schema, logger: recordingLogger(), pool: { application_name: `stem-control-${++ends}`, max: 2 } });
      return { channel: new BroadcastControlChannel(broker, { namespace: ns }), close: () => broker.close() };
    },
  });
});
