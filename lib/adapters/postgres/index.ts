/**
 * The Postgres adapter (`nestjs-stem/postgres`): broker, result backend, lock store, rate
 * limiter, schedule store and canvas group store on one database, with numbered migrations into
 * their own schema (`?schema=` in the URL, or the `schema` option).
 */
export * from './errors/index.js';
export { PostgresDeadConnectionError } from './errors/postgres-dead-connection.error.js';
export * from './postgres.broker.js';
export * from './postgres.result-backend.js';
export * from './postgres.lock-store.js';
export * from './postgres.rate-limiter.js';
export * from './postgres.schedule-store.js';
export * from './postgres.group-store.js';
export * from './postgres.workflow-store.js';
export type { PostgresWorkflowStoreOptions } from './postgres.workflow-store.options.js';
export * from './postgres.control-store.js';
export * from './postgres.transaction.js';
export { migratePostgres } from './postgres.migrate.js';
export { resolvePostgresTarget } from './postgres.url.js';
export type { MigrationReport } from './postgres.migrator.js';
export type { PostgresConnectOptions, PostgresLogger, PostgresPoolOptions } from './postgres.options.js';
export { POSTGRES_HEALTH_DEFAULTS } from './postgres.options.js';
export type { PostgresTarget } from './postgres.connection.js';
export type { StemTlsOptions } from '../tls/stem-tls.options.js';
