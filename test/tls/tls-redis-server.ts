import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { sparePort } from '../redis/redis-server.js';
import type { TlsFixture } from '../support/tls-fixture.js';

const run = promisify(execFile);

/** A redis-server child process that speaks only TLS, on a spare port, without persistence. */
export class TlsRedisServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  /**
   * Starts the server with the fixture's server certificate and waits until it answers PING over TLS.
   * @param requireClientCert `--tls-auth-clients yes` (a client certificate signed by the CA is required)
   */
  static async start(certs: TlsFixture, requireClientCert: boolean): Promise<TlsRedisServer> {
    const port = await sparePort();
    const args = ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    args.push('--tls-cert-file', certs.serverCert, '--tls-key-file', certs.serverKey, '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', requireClientCert ? 'yes' : 'no');
    const output: string[] = [];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const server = new TlsRedisServer(child, port);
    const cli = ['--tls', '--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey, '-p', String(port), 'ping'];
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server with TLS exited (${child.exitCode}); was it built with TLS?\n${output.join('')}`);
      const pong = await run('redis-cli', cli, { timeout: 2_000 }).then(
        ({ stdout }) => stdout.trim() === 'PONG',
        () => false,
      );
      if (pong) return server;
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`redis-server with TLS on port ${port} did not answer PING within 10 s:\n${output.join('')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** `rediss://127.0.0.1:<port>` with a key prefix of the test's own. */
  url(prefix: string): string {
    return `rediss://127.0.0.1:${this.port}?prefix=${prefix}`;
  }

  /** Kills the process and waits until it is gone. Never throws. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}
