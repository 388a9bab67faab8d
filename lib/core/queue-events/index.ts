export * from './queue-event.js';
export * from './queue-events.producer.js';
export * from './queue-events.js';
