export * from './class-validator.args-validator.js';
