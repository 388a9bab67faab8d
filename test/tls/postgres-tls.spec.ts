import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratePostgres, PostgresBroker, PostgresConnectionError } from '../../lib/adapters/postgres/index.js';
import { createStemAdapters, type StemAdapters } from '../../lib/adapters/stem-adapters.factory.js';
import { recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { PrivatePostgres, serverTooling } from '../postgres/private-postgres.js';
import { createTlsFixture, type TlsFixture, toolsAvailable } from '../support/tls-fixture.js';
import { roundTrip } from './tls-round-trip.js';

const tools = toolsAvailable('the Postgres TLS tests', ['openssl']);
const tooling = tools ? await serverTooling('the Postgres TLS tests') : undefined;

/** Whether the adapters' Postgres connection is encrypted, as the server sees it. */
async function encrypted(adapters: StemAdapters): Promise<boolean> {
  const { rows } = await (adapters.broker as PostgresBroker).pool.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
  return rows[0]!.ssl;
}

async function failure(connecting: Promise<unknown>): Promise<Error> {
  return connecting.then(
    (connected) => {
      void (connected as { close?: () => Promise<void> }).close?.();
      throw new Error('connected, but the connection should have been refused');
    },
    (e: unknown) => e as Error,
  );
}

describe.runIf(tooling)('Postgres sslmode against a private cluster with ssl=on', () => {
  let certs: TlsFixture;
  let server: PrivatePostgres | undefined;
  /** A URL of the server for `user`, with `query` (sslmode...) and a schema of the test's own. */
  const url = (user: string, query: string) => `postgres://${user}@127.0.0.1:${server!.port}/postgres?${query}&schema=${testSchema()}`;

  beforeAll(async () => {
    certs = await createTlsFixture('stem_client');
    server = await PrivatePostgres.create(tooling!, {
      files: { 'server.crt': await certs.read(certs.serverCert), 'server.key': await certs.read(certs.serverKey), 'ca.crt': await certs.read(certs.ca) },
      settings: (dir) => ({ ssl: 'on', ssl_cert_file: `${dir}/server.crt`, ssl_key_file: `${dir}/server.key`, ssl_ca_file: `${dir}/ca.crt` }),
      // TCP only over TLS: the postgres role by trust, stem_client by its client certificate (CN = role).
      hba: ['local all all trust', 'hostssl all postgres 127.0.0.1/32 trust', `hostssl all ${certs.clientName} 127.0.0.1/32 cert`],
    });
    const admin = new pg.Client(server.socketConfig());
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${certs.clientName} LOGIN SUPERUSER`);
    } finally {
      await admin.end();
    }
  }, 60_000);
  afterAll(async () => {
    await server?.destroy();
    await certs?.remove();
  });

  it('verify-full with the CA (tls option): encrypted, and a task round-trips', async () => {
    const adapters = await createStemAdapters({ broker: url('postgres', 'sslmode=verify-full'), tls: { ca: certs.ca }, env: {}, logger: recordingLogger() });
    try {
      expect(await encrypted(adapters)).toBe(true);
      expect(await roundTrip(adapters)).toEqual({ state: 'succeeded', value: 'echo: over TLS' });
    } finally {
      await adapters.close();
    }
  });

  it('the server takes TCP connections only over TLS: without sslmode it is refused', async () => {
    const error = await failure(PostgresBroker.connect(url('postgres', 'sslmode=disable'), { logger: recordingLogger() }));
    expect(error).toBeInstanceOf(PostgresConnectionError);
    expect(error.message).toMatch(/no encryption/);
    expect(error.message).toContain('add ?sslmode=verify-full');
  });

  it('verify-full without the CA fails naming the URL and the option and variable to set', async () => {
    const error = await failure(createStemAdapters({ broker: url('postgres', 'sslmode=verify-full'), env: {}, logger: recordingLogger() }));
    expect(error).toBeInstanceOf(PostgresConnectionError);
    expect(error.message).toContain(`postgres://postgres@127.0.0.1:${server!.port}/postgres (sslmode=verify-full)`);
    expect(error.message).toMatch(/not signed by a CA this client trusts/);
    expect(error.message).toContain('tls.ca');
    expect(error.message).toContain('STEM_TLS_CA_CERT');
  });

  it('sslmode=require without a CA encrypts without verifying (libpq semantics)', async () => {
    const adapters = await createStemAdapters({ broker: url('postgres', 'sslmode=require'), env: {}, logger: recordingLogger() });
    try {
      expect(await encrypted(adapters)).toBe(true);
    } finally {
      await adapters.close();
    }
  });

  it('STEM_TLS_ALLOW_INSECURE=true connects to verify-full without the CA, and warns through the logger', async () => {
    const logger = recordingLogger();
    const adapters = await createStemAdapters({ broker: url('postgres', 'sslmode=verify-full'), env: { STEM_TLS_ALLOW_INSECURE: 'true' }, logger });
    try {
      expect(await roundTrip(adapters)).toEqual({ state: 'succeeded', value: 'echo: over TLS' });
    } finally {
      await adapters.close();
    }
    const warnings = logger.lines.filter((line) => line.includes('TLS certificate verification is OFF'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`127.0.0.1:${server!.port}`);
  });

  it('a role authenticated by client certificate is refused without one, saying which variables to set', async () => {
    const error = await failure(createStemAdapters({ broker: url(certs.clientName, 'sslmode=verify-full'), tls: { ca: certs.ca }, env: {}, logger: recordingLogger() }));
    expect(error).toBeInstanceOf(PostgresConnectionError);
    expect(error.message).toContain(`${certs.clientName}@127.0.0.1:${server!.port}`);
    expect(error.message).toContain('STEM_TLS_CLIENT_CERT');
    expect(error.message).toContain('STEM_TLS_CLIENT_KEY');
  });

  it('client certificate and key from the environment: the role logs in and a task round-trips', async () => {
    const env = { STEM_TLS_CA_CERT: certs.ca, STEM_TLS_CLIENT_CERT: certs.clientCert, STEM_TLS_CLIENT_KEY: certs.clientKey };
    const adapters = await createStemAdapters({ broker: url(certs.clientName, 'sslmode=verify-full'), env, logger: recordingLogger() });
    try {
      const { rows } = await (adapters.broker as PostgresBroker).pool.query<{ user: string }>('SELECT current_user AS user');
      expect(rows[0]!.user).toBe(certs.clientName);
      expect(await roundTrip(adapters)).toEqual({ state: 'succeeded', value: 'echo: over TLS' });
    } finally {
      await adapters.close();
    }
  });

  it('migratePostgres reads ?sslmode= and the libpq file parameters (?sslrootcert=, ?sslcert=, ?sslkey=)', async () => {
    const files = `sslrootcert=${encodeURIComponent(certs.ca)}&sslcert=${encodeURIComponent(certs.clientCert)}&sslkey=${encodeURIComponent(certs.clientKey)}`;
    const report = await migratePostgres(url(certs.clientName, `sslmode=verify-full&${files}`), { logger: recordingLogger() });
    expect(report.applied.length).toBeGreaterThan(0);
    expect(report.version).toBe(report.applied.length);
  });
});
