import type { CustomTransportStrategy } from '@nestjs/microservices';

/**
 * Lets a Stem worker run as a Nest microservice. The worker itself is started by `StemModule`
 * when the app bootstraps; this strategy keeps the process alive until the app closes, and
 * `app.close()` (or SIGTERM with `enableShutdownHooks()`) drains it.
 *
 * @example
 * const app = await NestFactory.createMicroservice(WorkerModule, { strategy: new StemWorkerStrategy() });
 * app.enableShutdownHooks();
 * await app.listen();
 */
export class StemWorkerStrategy implements CustomTransportStrategy {
  private keepAlive?: NodeJS.Timeout;

  listen(callback: (...optionalParams: unknown[]) => void): void {
    this.keepAlive ??= setInterval(() => undefined, 1 << 30);
    callback();
  }

  close(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }

  on(): void {}

  unwrap<T>(): T {
    return undefined as T;
  }
}
