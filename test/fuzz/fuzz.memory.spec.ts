import { describe } from 'vitest';
import { memoryBadInputFixture } from '../adapters/bad-input.fixtures.js';
import { runFuzzTests } from './fuzz.suite.js';

describe('fuzz: malformed items in the in-memory broker', () => {
  runFuzzTests('memory', async () => memoryBadInputFixture());
});
