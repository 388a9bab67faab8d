/**
 * Choosing stores by URL: {@link createStemAdapters} and the adapter registry
 * ({@link registerAdapter}) that maps URL schemes to stores. The stores themselves are in
 * `memory/` (exported from the root), `nestjs-stem/redis` and `nestjs-stem/postgres`.
 */
export { createStemAdapters, DEFAULT_ADAPTER_URL, type StemAdapters, type StemAdaptersOptions } from './stem-adapters.factory.js';
export * from './registry/index.js';
export { type StemTlsOptions, tlsOptionsFromEnv } from './tls/index.js';
