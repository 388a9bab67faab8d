export * from './postgres-connection.error.js';
export * from './postgres-migration.error.js';
