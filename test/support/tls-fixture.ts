import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Whether an executable is on the PATH (or in the usual system dirs). */
export function onPath(name: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  return dirs.some((d) => existsSync(join(d, name)));
}

/**
 * Whether the tools a TLS test needs are installed. Without them the test is skipped with a
 * message, except under `CI=true`, where a missing tool is an error.
 */
export function toolsAvailable(test: string, tools: readonly string[]): boolean {
  const missing = tools.filter((tool) => !onPath(tool));
  if (missing.length === 0) return true;
  const message = `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed (apt-get install openssl redis-server postgresql)`;
  if (process.env.CI === 'true') throw new Error(`${test}: ${message}. Integration tests must not be skipped under CI=true.`);
  console.warn(`Skipping ${test}: ${message}.`);
  return false;
}

/** PEM files of a throwaway CA, a server certificate signed by it and a client certificate. */
export interface TlsFixture {
  readonly dir: string;
  /** The CA certificate (PEM file). */
  readonly ca: string;
  /** Server certificate for CN/SAN 127.0.0.1 and localhost, and its key. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** Client certificate (CN = {@link TlsFixture.clientName}) and its key. */
  readonly clientCert: string;
  readonly clientKey: string;
  readonly clientName: string;
  /** The PEM text of a file. */
  read(path: string): Promise<string>;
  /** Removes the files. Never throws. */
  remove(): Promise<void>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir, timeout: 20_000 });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr || e.message}`, { cause: error });
  }
}

const serial = () => `0x${Math.floor(Math.random() * 2 ** 48).toString(16)}`;
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A leaf certificate signed by the CA in `dir`. */
async function issue(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  await writeFile(join(dir, `${name}.ext`), extensions);
  await openssl(dir, ['req', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-set_serial',
    serial(),
    '-days',
    '2',
    '-out',
    `${name}.crt`,
    '-extfile',
    `${name}.ext`,
  ]);
}

/** Generates a CA, a server certificate (127.0.0.1, localhost) and a client certificate with `openssl` in a temp dir. */
export async function createTlsFixture(clientName = 'stem_client'): Promise<TlsFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'stem-tls-'));
  try {
    await openssl(dir, [
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=Stem Test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await issue(dir, 'server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    await issue(dir, 'client', `/CN=${clientName}`, 'extendedKeyUsage=clientAuth\n');
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    clientName,
    read: (path) => readFile(path, 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true }).catch(() => undefined),
  };
}
