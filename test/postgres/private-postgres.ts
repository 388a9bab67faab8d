import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { eventually } from './postgres-test-kit.js';

const run = promisify(execFile);

/** How the private server is run: its binaries, and (as root) the OS user it runs as. */
export interface Tooling {
  readonly bin: string;
  readonly runuser?: string;
  readonly owner?: { uid: number; gid: number };
}

/** The newest PostgreSQL server binaries: `STEM_TEST_POSTGRES_BIN`, else `/usr/lib/postgresql/<version>/bin`. */
function findServerBinaries(): string | undefined {
  const has = (dir: string) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b)));
  const override = process.env.STEM_TEST_POSTGRES_BIN;
  if (override) return has(override) ? override : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => has(join(root, v, 'bin')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

function findOnPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p));
}

/** What is missing to run a private server, or the tooling to run it with. */
async function probeTooling(): Promise<Tooling | string> {
  const bin = findServerBinaries();
  if (!bin) return 'no PostgreSQL server binaries (initdb, pg_ctl, postgres) under /usr/lib/postgresql/*/bin or STEM_TEST_POSTGRES_BIN';
  // NOTE: initdb and postgres refuse to run as root, so as root they run as the `postgres` OS user.
  if (process.getuid?.() !== 0) return { bin };
  const runuser = findOnPath('runuser');
  if (!runuser) return '`runuser` is missing (needed to run the server as the postgres OS user)';
  try {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    return { bin, runuser, owner: { uid, gid } };
  } catch {
    return 'there is no `postgres` OS user to run the server as';
  }
}

/**
 * The tooling, or undefined (with a message) to skip; under CI=true a missing tool is an error.
 * @param test what is skipped, for the message
 */
export async function serverTooling(test = 'the Postgres restart test'): Promise<Tooling | undefined> {
  const probe = await probeTooling();
  if (typeof probe !== 'string') return probe;
  const message = `${probe}; install the PostgreSQL server package (e.g. apt-get install postgresql-15).`;
  if (process.env.CI === 'true') throw new Error(`${test}: ${message} Integration tests must not be skipped under CI=true.`);
  console.warn(`Skipping ${test}: ${message}`);
  return undefined;
}

/** How a private server differs from initdb's defaults. */
export interface PrivatePostgresOptions {
  /** Files put in the server's dir before it starts, owned by its OS user with mode 0600 (TLS keys and certificates). */
  readonly files?: Readonly<Record<string, string>>;
  /** Extra server settings (`-c name=value`), given the server's dir (where `files` are). */
  readonly settings?: (dir: string) => Readonly<Record<string, string>>;
  /** The lines of pg_hba.conf, replacing initdb's; readiness is then checked on the unix socket, so keep a `local` line. */
  readonly hba?: readonly string[];
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function sparePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if (await portFree(port)) return port;
  }
}

/**
 * A throwaway PostgreSQL server: its own cluster in a temp dir, listening on a spare loopback
 * port (and a unix socket in the temp dir), run with `pg_ctl` as the postgres OS user when root.
 */
export class PrivatePostgres {
  private constructor(
    private readonly tooling: Tooling,
    readonly dir: string,
    readonly port: number,
    private readonly options: PrivatePostgresOptions,
  ) {}

  /** Creates the cluster and starts the server. */
  static async create(tooling: Tooling, options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
    const dir = await mkdtemp('/tmp/stem-pg-restart-');
    const server = new PrivatePostgres(tooling, dir, await sparePort(), options);
    try {
      if (tooling.owner) await chown(dir, tooling.owner.uid, tooling.owner.gid);
      await server.exec('initdb', ['-D', server.data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
      for (const [name, text] of Object.entries(options.files ?? {})) await server.ownFile(join(dir, name), text);
      if (options.hba) await server.ownFile(join(server.data, 'pg_hba.conf'), `${options.hba.join('\n')}\n`);
      await server.start();
      return server;
    } catch (error) {
      await server.destroy();
      throw error;
    }
  }

  get data(): string {
    return join(this.dir, 'data');
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Starts the server and waits until it accepts connections on its port. */
  async start(): Promise<void> {
    const settings = Object.entries(this.options.settings?.(this.dir) ?? {}).map(([name, value]) => ` -c ${name}=${value}`);
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=on${settings.join('')}`;
    await this.exec('pg_ctl', ['-D', this.data, '-l', join(this.dir, 'server.log'), '-o', options, '-w', '-t', '20', 'start']);
    const ready = await eventually(async () => {
      const client = new pg.Client(this.options.hba ? this.socketConfig() : { connectionString: this.url, connectionTimeoutMillis: 1_000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => undefined);
      }
    }, 15_000);
    if (!ready) throw new Error(`The private Postgres on port ${this.port} does not accept connections:\n${await this.logTail()}`);
  }

  /** Stops the server: `fast` ends sessions and checkpoints, `immediate` is a crash (WAL replay on start). */
  async stop(mode: 'fast' | 'immediate'): Promise<void> {
    await this.exec('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '20', 'stop']);
  }

  /** Stops the server if it runs and removes its files. Never throws. */
  async destroy(): Promise<void> {
    if (existsSync(join(this.data, 'postmaster.pid'))) await this.stop('immediate').catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Client settings for the server's unix socket (as the postgres role), e.g. for setup statements. */
  socketConfig(): pg.ClientConfig {
    return { host: this.dir, port: this.port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 1_000 };
  }

  private async ownFile(path: string, text: string): Promise<void> {
    await writeFile(path, text, { mode: 0o600 });
    await chmod(path, 0o600);
    if (this.tooling.owner) await chown(path, this.tooling.owner.uid, this.tooling.owner.gid);
  }

  /** The end of the server log, for failure messages. */
  async logTail(lines = 30): Promise<string> {
    const text = await readFile(join(this.dir, 'server.log'), 'utf8').catch(() => '(no server log)');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  }

  private async exec(tool: string, args: string[]): Promise<void> {
    const path = join(this.tooling.bin, tool);
    const [command, argv] = this.tooling.runuser ? [this.tooling.runuser, ['-u', 'postgres', '--', path, ...args]] : [path, args];
    try {
      await run(command, argv, { cwd: this.dir, timeout: 30_000 });
    } catch (error) {
      const e = error as { stderr?: string; stdout?: string; message: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`, { cause: error });
    }
  }
}
