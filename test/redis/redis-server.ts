import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** True when `port` can be bound on 127.0.0.1. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (+10000) is free too. */
export async function sparePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
}

async function waitFor(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `redis-cli` against a port. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args]);
  return stdout;
}

/** A redis-server child process on a spare port, in its own temp dir, with an fsync-always AOF. */
export class RedisServer {
  private process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly extra: readonly string[],
  ) {}

  /** Starts a server and waits until it answers PING. */
  static async start(extra: readonly string[] = []): Promise<RedisServer> {
    const server = new RedisServer(await sparePort(), await mkdtemp(join(tmpdir(), 'stem-redis-')), extra);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the process on the same port and data dir. */
  async restart(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', ...this.extra];
    this.process = spawn('redis-server', args, { stdio: 'ignore' });
    await waitFor(async () => (await redisCli(this.port, 'ping')).trim() === 'PONG', 10_000, `redis-server on ${this.port}`);
  }

  /** SIGKILLs the process and waits until it is gone. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Kills the process and removes its data. */
  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A local 3-master Redis Cluster on spare ports. */
export class RedisClusterFixture {
  private constructor(readonly nodes: readonly RedisServer[]) {}

  /** Starts three cluster-enabled servers, joins them and waits for `cluster_state:ok`. */
  static async start(): Promise<RedisClusterFixture> {
    const nodes: RedisServer[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        nodes.push(await RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--appendfsync', 'no']));
      }
      await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
      for (const node of nodes) {
        await waitFor(async () => (await redisCli(node.port, 'cluster', 'info')).includes('cluster_state:ok'), 15_000, `cluster_state:ok on ${node.port}`);
      }
      return new RedisClusterFixture(nodes);
    } catch (error) {
      await Promise.all(nodes.map((n) => n.stop()));
      throw error;
    }
  }

  get url(): string {
    return this.nodes[0]!.url;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
