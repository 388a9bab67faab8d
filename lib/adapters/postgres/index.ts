/**
 * The Postgres adapter (`nestjs-stem/postgres`): broker, result backend, lock store and rate
 * limiter on one database, with numbered migrations into their own schema.
 */
export * from './errors/index.js';
export { PostgresDeadConnectionError } from './errors/postgres-dead-connection.error.js';
export * from './postgres.broker.js';
export * from './postgres.result-backend.js';
export * from './postgres.lock-store.js';
export * from './postgres.rate-limiter.js';
export * from './postgres.group-store.js';
export * from './postgres.transaction.js';
export { migratePostgres } from './postgres.migrate.js';
export type { MigrationReport } from './postgres.migrator.js';
export type { PostgresConnectOptions, PostgresLogger, PostgresPoolOptions } from './postgres.options.js';
export { POSTGRES_HEALTH_DEFAULTS } from './postgres.options.js';
export type { PostgresTarget } from './postgres.connection.js';
