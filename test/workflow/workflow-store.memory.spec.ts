import { InMemoryWorkflowStore } from '../../lib/adapters/memory/index.js';
import { runWorkflowStoreContractTests } from '../../lib/testing/workflow-store.contract.js';

runWorkflowStoreContractTests('memory', { create: async (clock) => new InMemoryWorkflowStore({ clock }) });
