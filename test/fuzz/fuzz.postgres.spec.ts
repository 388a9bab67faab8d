import { afterAll, describe } from 'vitest';
import { postgresBadInputFixture } from '../adapters/bad-input.fixtures.js';
import { dropSchema, testSchema } from '../postgres/postgres-test-kit.js';
import { postgresAvailable } from '../support/services.js';
import { runFuzzTests } from './fuzz.suite.js';

const available = await postgresAvailable();
const schema = testSchema();

describe.runIf(available)('fuzz: malformed rows in Postgres', () => {
  afterAll(() => dropSchema(schema));
  runFuzzTests('postgres', () => postgresBadInputFixture(schema));
});
