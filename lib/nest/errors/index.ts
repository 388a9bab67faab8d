export * from './invalid-workflow-params.error.js';
