export * from './canonical-json.js';
export * from './signing-payload.js';
export * from './signing.options.js';
export * from './envelope-signer.js';
