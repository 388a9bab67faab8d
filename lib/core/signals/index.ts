export * from './signal-map.js';
export * from './signals.options.js';
export * from './stem-signals.js';
export * from './signal-bridges.js';
