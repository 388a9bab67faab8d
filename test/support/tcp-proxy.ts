import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy for tests that simulates a half-open / black-holed network path: `pause()` stops
 * forwarding bytes in both directions without closing any socket (new connections are accepted
 * and connected upstream, but carry nothing either), `resume()` lets the held bytes through, as
 * TCP retransmission would once the path returns.
 */
export class TcpProxy {
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private paused = false;

  private constructor(
    private readonly server: Server,
    /** Port the proxy listens on (127.0.0.1). */
    readonly port: number,
  ) {}

  /** Starts a proxy on a free port of 127.0.0.1 forwarding to `host:port`. */
  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer({ pauseOnConnect: true }, (client) => proxy!.accept(client, targetHost, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
    proxy = new TcpProxy(server, address.port);
    return proxy;
  }

  /** Open client connections through the proxy. */
  get connections(): number {
    return this.pairs.size;
  }

  /** Stops forwarding in both directions; sockets stay open. */
  pause(): void {
    this.paused = true;
    for (const { client, upstream } of this.pairs) {
      client.pause();
      upstream.pause();
    }
  }

  /** Forwards again, including what was held while paused. */
  resume(): void {
    this.paused = false;
    for (const { client, upstream } of this.pairs) {
      client.resume();
      upstream.resume();
    }
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, host: string, port: number): void {
    const upstream = createConnection({ host, port });
    const pair = { client, upstream };
    this.pairs.add(pair);
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    // NOTE: pipe() would resume a paused source on its own; forwarding by hand keeps pause() in charge.
    client.on('data', (chunk: Buffer) => {
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => !this.paused && upstream.resume());
    upstream.on('drain', () => !this.paused && client.resume());
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    if (this.paused) {
      client.pause();
      upstream.pause();
    } else {
      client.resume();
    }
  }
}
