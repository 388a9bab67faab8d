import './builtin-adapters.js';

export { AdapterRegistry, adapterRegistry, registerAdapter, registeredSchemes, type RegisterAdapterOptions } from './adapter-registry.js';
export { AdapterDriverMissingError, importAdapterDriver } from './adapter-driver-missing.error.js';
export type { AdapterConnectContext, AdapterKind, AdapterKinds, AdapterLoader, AdapterLogger, AdapterSet } from './adapter-set.js';
