import 'reflect-metadata';
import type { LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createStemAdapters } from '../../lib/adapters/stem-adapters.factory.js';
import { StemModule } from '../../lib/nest/stem.module.js';
import { dropSchema, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { POSTGRES_URL, postgresAvailable } from '../support/services.js';

const available = await postgresAvailable();

describe.runIf(available)('Postgres migration log lines', () => {
  const schemas: string[] = [];
  const fresh = () => {
    const schema = testSchema();
    schemas.push(schema);
    return `${POSTGRES_URL}?schema=${schema}`;
  };
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    for (const schema of schemas) await dropSchema(schema);
  });

  it('go to the logger given to createStemAdapters, not the console', async () => {
    const info = vi.spyOn(console, 'info');
    const logger = recordingLogger();
    const adapters = await createStemAdapters({ broker: fresh(), logger });
    await adapters.close();
    expect(logger.lines.some((line) => /^Migrated schema "stem_test_\w+": applied 0001_init/.test(line))).toBe(true);
    expect(info.mock.calls.filter(([line]) => String(line).includes('[stem:postgres]'))).toEqual([]);
  });

  it('go through the Nest logger in a Nest app', async () => {
    const info = vi.spyOn(console, 'info');
    const logged: { message: string; context?: string }[] = [];
    const nestLogger: LoggerService = {
      log: (message: string, context?: string) => void logged.push({ message, ...(context ? { context } : {}) }),
      warn: () => undefined,
      error: () => undefined,
    };
    const moduleRef = await Test.createTestingModule({ imports: [StemModule.forRoot({ broker: fresh(), worker: false })] })
      .setLogger(nestLogger)
      .compile();
    const app = moduleRef.createNestApplication({ logger: nestLogger });
    await app.init();
    await app.close();
    expect(logged).toContainEqual({ message: expect.stringMatching(/^Migrated schema "stem_test_\w+": applied 0001_init/), context: 'Stem' });
    expect(info.mock.calls.filter(([line]) => String(line).includes('[stem:postgres]'))).toEqual([]);
  });
});
