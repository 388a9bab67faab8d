import { InMemoryScheduleStore } from '../../lib/adapters/memory/index.js';
import { runScheduleStoreContractTests } from '../../lib/testing/schedule-store.contract.js';

runScheduleStoreContractTests('memory', { create: async () => new InMemoryScheduleStore() });
