import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisConnectionError, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import { createStemAdapters, type StemAdapters } from '../../lib/adapters/stem-adapters.factory.js';
import { runCli } from '../../lib/cli/run-cli.js';
import { StemModule } from '../../lib/nest/stem.module.js';
import { uniquePrefix } from '../redis/redis-test-utils.js';
import { createTlsFixture, type TlsFixture, toolsAvailable } from '../support/tls-fixture.js';
import { roundTrip } from './tls-round-trip.js';
import { TlsRedisServer } from './tls-redis-server.js';

const tools = toolsAvailable('the Redis TLS tests', ['openssl', 'redis-server', 'redis-cli']);

/** Runs the adapters' round trip and closes them, even when it fails. */
async function roundTripOn(adapters: StemAdapters) {
  try {
    return await roundTrip(adapters);
  } finally {
    await adapters.close();
  }
}

async function failure(connecting: Promise<unknown>): Promise<Error> {
  const error = await connecting.then(
    (connected) => {
      void (connected as { close?: () => Promise<void> }).close?.();
      throw new Error('connected, but the connection should have been refused');
    },
    (e: unknown) => e as Error,
  );
  return error;
}

describe.runIf(tools)('rediss:// against a private TLS-only redis-server', () => {
  let certs: TlsFixture;
  let server: TlsRedisServer;
  let strict: TlsRedisServer;
  beforeAll(async () => {
    certs = await createTlsFixture();
    server = await TlsRedisServer.start(certs, false);
    strict = await TlsRedisServer.start(certs, true);
  });
  afterAll(async () => {
    await server?.stop();
    await strict?.stop();
    await certs?.remove();
  });

  it('with the CA (tls option), a task round-trips: published, run by a worker, result read back', async () => {
    const adapters = await createStemAdapters({ broker: server.url(uniquePrefix('tls')), tls: { ca: certs.ca }, env: {} });
    expect(await roundTripOn(adapters)).toEqual({ state: 'succeeded', value: 'echo: over TLS' });
  });

  it('the port speaks only TLS: the same server over redis:// is refused', async () => {
    const error = await failure(RedisStreamsBroker.connect(`redis://127.0.0.1:${server.port}`, { connectTimeout: 500 }));
    expect(error).toBeInstanceOf(RedisConnectionError);
  });

  it('without the CA, connecting fails at once naming the URL and the option and variable to set', async () => {
    const url = server.url(uniquePrefix('tls'));
    const started = Date.now();
    const error = await failure(createStemAdapters({ broker: url, env: {} }));
    expect(error).toBeInstanceOf(RedisConnectionError);
    expect(error.message).toContain(`rediss://127.0.0.1:${server.port}`);
    expect(error.message).toMatch(/not signed by a CA this client trusts/);
    expect(error.message).toContain('tls.ca');
    expect(error.message).toContain('STEM_TLS_CA_CERT');
    // NOTE: a certificate problem is not retried until connectTimeout (3 s).
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('STEM_TLS_CA_CERT as PEM text works like the file path', async () => {
    const adapters = await createStemAdapters({ broker: server.url(uniquePrefix('tls')), env: { STEM_TLS_CA_CERT: await certs.read(certs.ca) } });
    expect(await roundTripOn(adapters)).toEqual({ state: 'succeeded', value: 'echo: over TLS' });
  });

  it('STEM_TLS_ALLOW_INSECURE=true connects without the CA, and warns', async () => {
    const warnings: string[] = [];
    const warn = vi.spyOn(console, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
    try {
      const adapters = await createStemAdapters({ broker: server.url(uniquePrefix('tls')), env: { STEM_TLS_ALLOW_INSECURE: 'true' } });
      expect(await roundTripOn(adapters)).toEqual({ state: 'succeeded', value: 'echo: over TLS' });
    } finally {
      warn.mockRestore();
    }
    const lines = warnings.filter((line) => line.includes('TLS certificate verification is OFF'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`rediss://127.0.0.1:${server.port}`);
  });

  it('a server requiring client certificates refuses a client without one, saying which variables to set', async () => {
    const error = await failure(createStemAdapters({ broker: strict.url(uniquePrefix('tls')), tls: { ca: certs.ca }, env: {} }));
    expect(error).toBeInstanceOf(RedisConnectionError);
    expect(error.message).toContain(`rediss://127.0.0.1:${strict.port}`);
    expect(error.message).toContain('STEM_TLS_CLIENT_CERT');
    expect(error.message).toContain('STEM_TLS_CLIENT_KEY');
  });

  it('client certificate and key from the environment: the task round-trips on that server', async () => {
    const env = { STEM_TLS_CA_CERT: certs.ca, STEM_TLS_CLIENT_CERT: certs.clientCert, STEM_TLS_CLIENT_KEY: certs.clientKey };
    const adapters = await createStemAdapters({ broker: strict.url(uniquePrefix('tls')), env });
    expect(await roundTripOn(adapters)).toEqual({ state: 'succeeded', value: 'echo: over TLS' });
  });

  it('the CLI reads the same variables: `stem health` answers with them and fails with the hint without them', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (line: string) => void out.push(line), err: (line: string) => void err.push(line) };
    const url = strict.url(uniquePrefix('tls'));
    const env = { STEM_BROKER_URL: url, STEM_TLS_CA_CERT: certs.ca, STEM_TLS_CLIENT_CERT: certs.clientCert, STEM_TLS_CLIENT_KEY: certs.clientKey };
    expect(await runCli(['health'], io, env), err.join('\n')).toBe(0);
    expect(await runCli(['health'], io, { STEM_BROKER_URL: url })).not.toBe(0);
    expect(err.join('\n')).toContain('STEM_TLS_CA_CERT');
  });

  it('StemModule.forRoot({ tls }) connects with the module options, and fails to boot without the CA', async () => {
    const boot = async (tls: { ca: string } | false) => {
      const moduleRef = await Test.createTestingModule({ imports: [StemModule.forRoot({ broker: server.url(uniquePrefix('tls')), tls, worker: false })] })
        .setLogger({ log() {}, warn() {}, error() {} })
        .compile();
      try {
        await moduleRef.init();
      } finally {
        await moduleRef.close();
      }
    };
    await expect(boot({ ca: certs.ca })).resolves.toBeUndefined();
    await expect(boot(false)).rejects.toThrow(/STEM_TLS_CA_CERT/);
  });

  it('the README example runs over TLS with STEM_BROKER_URL and STEM_TLS_CA_CERT', async () => {
    const printed: string[] = [];
    const env = { STEM_BROKER_URL: server.url(uniquePrefix('readme')), STEM_TLS_CA_CERT: certs.ca };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')));
    try {
      await import('../../examples/tls.js');
    } finally {
      log.mockRestore();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    expect(printed).toEqual(['hello Ada, over TLS']);
  });
});
