import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import type { TaskStatus } from '../../lib/core/envelope.js';
import { StatusNotStorableError } from '../../lib/core/errors/status-not-storable.error.js';
import { uuidv7 } from '../../lib/core/utils/uuid.js';
import { postgresAvailable } from '../support/services.js';
import { until } from '../support/until.js';
import { dropSchema, POSTGRES_URL, recordingLogger, statementsDuring, testSchema } from '../postgres/postgres-test-kit.js';

const available = await postgresAvailable();

/** Settles `promise` into what its caller sees: 'stored', or the error's name. */
const outcome = (promise: Promise<void>) =>
  promise.then(
    () => 'stored',
    (error: unknown) => (error as Error).name,
  );

describe.runIf(available)('Postgres: writes of one task in one batch share a statement', () => {
  const schema = testSchema();
  const logger = recordingLogger();
  let pool: pg.Pool;
  let backend: PostgresResultBackend;
  /** A backend on a pool of its own (another process would look the same). */
  let elsewhere: PostgresResultBackend;
  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
    backend = await PostgresResultBackend.connect(pool, { schema, logger });
    elsewhere = await PostgresResultBackend.connect(POSTGRES_URL, { schema, logger, pool: { max: 2 } });
  });
  afterAll(async () => {
    await backend.close();
    await elsewhere.close();
    await pool.end();
    await dropSchema(schema);
  });

  it('stores `running` then `succeeded` of a short task in one statement, leaving the row as the two writes in turn would', async () => {
    const id = uuidv7();
    await backend.set(id, { state: 'queued', attempt: 0, name: 'report.build', queue: 'reports', meta: { tenant: 'acme', step: 'queued' }, args: { n: 1 } });
    const seen: TaskStatus[] = [];
    const watch = await elsewhere.watch(id, (status) => seen.push(status));
    try {
      const sent = await statementsDuring(pool, () =>
        Promise.all([
          backend.set(id, { state: 'running', attempt: 0, meta: { worker: 'w1', step: 'running' } }),
          backend.set(id, { state: 'succeeded', attempt: 0, payload: { n: 2 }, meta: { step: 'done' } }),
        ]),
      );
      expect(sent.filter((text) => text.includes('INSERT INTO'))).toHaveLength(1);
      const stored = await elsewhere.getWithArgs(id);
      expect(stored).toMatchObject({ state: 'succeeded', name: 'report.build', queue: 'reports', payload: { n: 2 }, args: { n: 1 } });
      expect(stored!.meta).toEqual({ tenant: 'acme', worker: 'w1', step: 'done' });
      await until(() => seen.some((s) => s.state === 'succeeded'));
      expect(seen.filter((s) => s.state === 'running')).toEqual([]);
    } finally {
      await watch.close();
    }
  });

  it('keeps a guarded write apart: a `queued` that must not replace a terminal status is not merged into the end before it', async () => {
    const id = uuidv7();
    await Promise.all([
      backend.set(id, { state: 'succeeded', attempt: 0, name: 'report.build', queue: 'reports', payload: 1 }),
      backend.set(id, { state: 'queued', attempt: 0, name: 'report.build', queue: 'reports' }, { unlessTerminal: true }),
    ]);
    expect(await backend.get(id)).toMatchObject({ state: 'succeeded', payload: 1 });
  });

  it('fails only the write the database refuses: the `running` before it stays stored', async () => {
    const id = uuidv7();
    const other = uuidv7();
    const results = await Promise.all([
      outcome(backend.set(id, { state: 'running', attempt: 0, name: 'report.build', queue: 'reports', meta: { worker: 'w1' } })),
      outcome(backend.set(other, { state: 'running', attempt: 0, name: 'report.build', queue: 'reports' })),
      outcome(backend.set(id, { state: 'succeeded', attempt: 0, payload: 1, meta: { note: 'nul \u0000 inside' } })),
    ]);
    expect(results).toEqual(['stored', 'stored', StatusNotStorableError.name]);
    expect(await backend.get(id)).toMatchObject({ state: 'running', meta: { worker: 'w1' } });
    expect(await backend.get(other)).toMatchObject({ state: 'running' });
  });

  it('merges three writes of one task in turn, each caller told of its own write', async () => {
    const id = uuidv7();
    const results = await Promise.all([
      outcome(backend.set(id, { state: 'running', attempt: 0, name: 'report.build', queue: 'reports', meta: { a: 1 } })),
      outcome(backend.set(id, { state: 'retried', attempt: 0, error: { type: 'Error', message: 'once', retryable: true }, meta: { b: 2 } })),
      outcome(backend.set(id, { state: 'running', attempt: 1, meta: { a: 3 } })),
    ]);
    expect(results).toEqual(['stored', 'stored', 'stored']);
    expect(await backend.get(id)).toMatchObject({ state: 'running', attempt: 1, name: 'report.build', queue: 'reports', meta: { a: 3, b: 2 } });
    expect((await backend.get(id))!.error).toBeUndefined();
  });
});
