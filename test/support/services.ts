import { Socket } from 'node:net';

/** Connection URLs of the real services integration tests use (override with env vars). */
export const REDIS_URL = process.env.STEM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL = process.env.STEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000);
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
    socket.connect(Number(port || defaultPort), hostname);
  });
}

/**
 * Whether integration tests for a service should run. Without the service they are skipped with a
 * message, except under `CI=true`, where a missing service is an error.
 */
async function serviceAvailable(name: string, url: string, port: number): Promise<boolean> {
  if (await reachable(url, port)) return true;
  const message = `${name} is not reachable at ${url}; start it (see README "Running the tests") or set STEM_TEST_${name.toUpperCase()}_URL.`;
  if (process.env.CI === 'true') throw new Error(`${message} Integration tests must not be skipped under CI=true.`);
  console.warn(`Skipping ${name} integration tests: ${message}`);
  return false;
}

/** True when Redis answers; throws under CI=true when it does not. */
export const redisAvailable = (): Promise<boolean> => serviceAvailable('Redis', REDIS_URL, 6379);
/** True when Postgres answers; throws under CI=true when it does not. */
export const postgresAvailable = (): Promise<boolean> => serviceAvailable('Postgres', POSTGRES_URL, 5432);

/**
 * A Postgres URL whose adapters live in a schema of their own (`?schema=<prefix>_<random>`), and a
 * function that drops that schema afterwards.
 */
export function isolatedPostgresUrl(prefix = 'stem_e2e'): { url: string; schema: string; drop: () => Promise<void> } {
  const schema = `${prefix}_${Math.random().toString(16).slice(2, 10)}`;
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    schema,
    drop: async () => {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
