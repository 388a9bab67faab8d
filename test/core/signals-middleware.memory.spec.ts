import { describe } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { runSignalsMiddlewareTests } from './signals-middleware.suite.js';

describe('signals and middleware on the in-memory adapters', () => {
  runSignalsMiddlewareTests(async () => {
    const broker = new InMemoryBroker();
    const backend = new InMemoryResultBackend();
    return { broker, backend, close: () => broker.close() };
  });
});
