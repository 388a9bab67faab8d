export * from './stem-middleware.js';
export * from './middleware-chain.js';
export * from './middleware.extension.js';
