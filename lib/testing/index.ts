export * from './fake-stem.js';
export { TestClock } from '../core/utils/clock.js';
export * from './fake-workflow-clock.js';
