import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePostgresTarget } from '../../lib/adapters/postgres/index.js';
import { postgresSsl } from '../../lib/adapters/postgres/postgres.ssl.js';
import { redisTlsOptions } from '../../lib/adapters/redis/redis.clients.js';
import { createStemAdapters } from '../../lib/adapters/stem-adapters.factory.js';
import { resolveTlsOptions, tlsOptionsFromEnv } from '../../lib/adapters/tls/index.js';
import { ConfigurationError } from '../../lib/core/errors/configuration.error.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n';

let dir: string;
let caFile: string;
let notPem: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stem-tls-options-'));
  caFile = join(dir, 'ca.pem');
  notPem = join(dir, 'ca.der');
  await writeFile(caFile, PEM);
  await writeFile(notPem, Buffer.from([0x30, 0x82, 0x01, 0xb3]));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function configError(run: () => unknown): ConfigurationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('STEM_TLS_* environment variables', () => {
  it('none set: no TLS settings', () => {
    expect(tlsOptionsFromEnv({})).toBeUndefined();
    expect(tlsOptionsFromEnv({ STEM_TLS_ALLOW_INSECURE: 'false', STEM_TLS_CA_CERT: '' })).toBeUndefined();
  });

  it('a file path is read, PEM text is taken as it is', () => {
    expect(tlsOptionsFromEnv({ STEM_TLS_CA_CERT: caFile })?.ca?.toString()).toBe(PEM);
    const fromText = tlsOptionsFromEnv({ STEM_TLS_CA_CERT: PEM, STEM_TLS_CLIENT_CERT: PEM, STEM_TLS_CLIENT_KEY: KEY });
    expect(fromText?.ca?.toString()).toBe(PEM);
    expect(fromText?.key?.toString()).toBe(KEY);
  });

  it('STEM_TLS_ALLOW_INSECURE: true/1/yes turn verification off; other words are refused', () => {
    for (const value of ['true', '1', 'YES']) expect(tlsOptionsFromEnv({ STEM_TLS_ALLOW_INSECURE: value })).toEqual({ allowInsecure: true });
    const error = configError(() => tlsOptionsFromEnv({ STEM_TLS_ALLOW_INSECURE: 'sure' }));
    expect(error.option).toBe('STEM_TLS_ALLOW_INSECURE');
    expect(error.message).toContain('"sure"');
  });

  it('a file that cannot be read, or holds no PEM, is reported under the variable name with the path', () => {
    const missing = configError(() => tlsOptionsFromEnv({ STEM_TLS_CA_CERT: join(dir, 'nope.pem') }));
    expect(missing.option).toBe('STEM_TLS_CA_CERT');
    expect(missing.message).toContain('nope.pem');
    expect(missing.message).toContain('ENOENT');
    const der = configError(() => tlsOptionsFromEnv({ STEM_TLS_CA_CERT: notPem }));
    expect(der.option).toBe('STEM_TLS_CA_CERT');
    expect(der.message).toContain('no PEM block');
  });

  it('a client certificate without its key is refused, naming the missing one', () => {
    expect(configError(() => tlsOptionsFromEnv({ STEM_TLS_CLIENT_CERT: PEM })).option).toBe('STEM_TLS_CLIENT_KEY');
  });

  it('settings given in code win one by one over the environment; false ignores it', () => {
    const env = { STEM_TLS_CA_CERT: caFile, STEM_TLS_ALLOW_INSECURE: 'true' };
    const merged = resolveTlsOptions({ ca: 'other.pem', allowInsecure: undefined }, env);
    expect(merged).toEqual({ ca: 'other.pem', allowInsecure: true });
    expect(resolveTlsOptions(false, env)).toBeUndefined();
  });

  it('createStemAdapters reads them once, up front: a bad one fails before any store connects', async () => {
    await expect(createStemAdapters({ broker: 'memory://', env: { STEM_TLS_CA_CERT: join(dir, 'missing.pem') } })).rejects.toThrow(/STEM_TLS_CA_CERT.*missing\.pem/);
  });
});

describe('Redis TLS options', () => {
  it('only rediss:// URLs use TLS; the CA is read, and explicit ioredis tls fields win', () => {
    expect(redisTlsOptions('redis://127.0.0.1:6379', { tls: { ca: caFile } })).toBeUndefined();
    const tls = redisTlsOptions('rediss://127.0.0.1:6380', { tls: { ca: caFile }, redis: { tls: { servername: 'redis.internal' } } });
    expect(tls?.ca?.toString()).toBe(PEM);
    expect(tls).toMatchObject({ rejectUnauthorized: true, servername: 'redis.internal' });
  });

  it('a file given in code that cannot be read is reported as tls.<setting>', () => {
    const error = configError(() => redisTlsOptions('rediss://127.0.0.1:6380', { tls: { ca: join(dir, 'gone.pem') } }));
    expect(error.option).toBe('tls.ca');
  });
});

describe('Postgres sslmode', () => {
  it('?sslmode= and the libpq file parameters are read into the options and left out of the URL pg sees', () => {
    const { target, options } = resolvePostgresTarget(`postgres://u@db:5432/app?sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}&schema=jobs&application_name=x`, {});
    expect(target).toBe('postgres://u@db:5432/app?application_name=x');
    expect(options.sslmode).toBe('verify-full');
    expect(options.schema).toBe('jobs');
    expect(options.tls?.ca?.toString()).toBe(PEM);
  });

  it('?ssl=true is verify-full; an unknown sslmode or a different one in the options is refused', () => {
    expect(resolvePostgresTarget('postgres://db/app?ssl=true', {}).options.sslmode).toBe('verify-full');
    expect(configError(() => resolvePostgresTarget('postgres://db/app?sslmode=strict', {})).message).toContain('verify-full');
    const conflict = configError(() => resolvePostgresTarget('postgres://db/app?sslmode=require', { sslmode: 'verify-full' }));
    expect(conflict.message).toContain('set it in one place');
  });

  it('maps sslmode to pg ssl settings as libpq does', () => {
    expect(postgresSsl({}, 'postgres://db/app')).toBeUndefined();
    expect(postgresSsl({ sslmode: 'disable', tls: { ca: caFile } }, 'postgres://db/app')).toBe(false);
    expect(postgresSsl({ sslmode: 'require' }, 'postgres://db/app')).toMatchObject({ rejectUnauthorized: false });
    const requireWithCa = postgresSsl({ sslmode: 'require', tls: { ca: caFile } }, 'postgres://db/app');
    expect(requireWithCa).toMatchObject({ rejectUnauthorized: true, checkServerIdentity: expect.any(Function) });
    const full = postgresSsl({ sslmode: 'verify-full', tls: { ca: caFile } }, 'postgres://db/app');
    expect(full).toMatchObject({ rejectUnauthorized: true });
    expect(full).not.toHaveProperty('checkServerIdentity');
  });

  it('verify-ca without a CA is refused, saying where to give one', () => {
    const error = configError(() => postgresSsl({ sslmode: 'verify-ca' }, 'postgres://db/app'));
    expect(error.message).toContain('STEM_TLS_CA_CERT');
    expect(error.message).toContain('?sslrootcert=');
  });
});
