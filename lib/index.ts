// The root entry: the core engine, the in-memory adapters, class-validator validation and the
// Nest layer. Optional peers stay behind subpaths: `nestjs-stem/microservices`
// (@nestjs/microservices), `nestjs-stem/redis` (ioredis), `nestjs-stem/postgres` (pg).
export * from './core/index.js';
export * from './adapters/memory/index.js';
export * from './validation/index.js';
export * from './adapters/index.js';
export * from './nest/index.js';
// NOTE: the Nest decorator `StemMiddleware` is also the core interface's name; this one is both.
export { StemMiddleware } from './nest/index.js';
