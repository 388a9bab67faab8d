import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PostgresLogger } from '../../lib/adapters/postgres/index.js';
import { POSTGRES_URL } from '../support/services.js';

export { POSTGRES_URL };

/** A fresh schema name for one spec file: `stem_test_<random>`. */
export function testSchema(): string {
  return `stem_test_${randomBytes(5).toString('hex')}`;
}

/** A logger that keeps lines instead of printing them. */
export function recordingLogger(): PostgresLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (message) => void lines.push(message),
    warn: (message, error) => void lines.push(`${message}${error instanceof Error ? `: ${error.message}` : ''}`),
  };
}

/** Runs one statement on a short-lived connection. */
export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await client.query<T>(text, values);
  } finally {
    await client.end();
  }
}

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** Polls `check` every 20 ms until it returns true or `ms` pass. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The statement texts sent through `pool.query` while `fn` runs (named statements included). */
export async function statementsDuring(pool: pg.Pool, fn: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const original = pool.query;
  pool.query = function (this: pg.Pool, ...args: unknown[]) {
    const first = args[0] as string | { text: string };
    sent.push(typeof first === 'string' ? first : first.text);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof pool.query;
  try {
    await fn();
  } finally {
    pool.query = original;
  }
  return sent;
}
