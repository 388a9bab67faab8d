/**
 * TLS for the Redis (`rediss://`) and Postgres (`sslmode=`) adapters: the settings, the
 * `STEM_TLS_*` environment variables, and the hints a failed TLS connection carries.
 */
export { type StemTlsOptions, TLS_ENV_NAMES, TLS_OPTION_NAMES, type TlsSettingNames } from './stem-tls.options.js';
export { loadTlsMaterial, nodeTlsOptions, readPem, tlsFingerprint } from './tls-material.js';
export { tlsFailureHint } from './tls-failure.js';
export { warnInsecureTls } from './insecure-tls.warning.js';
export { resolveTlsOptions, tlsOptionsFromEnv } from './tls-env.js';
