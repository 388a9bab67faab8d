import { Controller, Get, Injectable } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { StemControl, StemHealthIndicator } from 'nestjs-stem';
import { BroadcastControlChannel, ControlClient, SimpleTaskRegistry, Stem, type TaskHandler, Worker, WorkerControl } from 'nestjs-stem/core';
import { InMemoryBroker, InMemoryControlStore, InMemoryResultBackend } from 'nestjs-stem/memory';

// #region nest
// StemControl is injectable in every app, producer-only ones (worker: false) included.
@Injectable()
export class Operations {
  constructor(private readonly control: StemControl) {}

  /** One reply per live worker, each with its workerId. */
  async live(): Promise<string[]> {
    return (await this.control.ping({ timeout: 1_000 })).map((reply) => reply.workerId);
  }

  /** Stored first: holds for workers that are down or miss the broadcast. */
  cancelOrder(taskId: string) {
    return this.control.revoke([taskId], { terminate: true, reason: 'order cancelled' });
  }

  /** Paused queues are not fetched from by any worker, now or after a restart. */
  holdEmails() {
    return this.control.pause('emails');
  }
}

// With @nestjs/terminus installed (optional): down when a queue has no live worker or lags.
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly stem: StemHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.stem.isHealthy('stem', { queues: ['emails'], maxQueueLag: 10_000 })]);
  }
}
// #endregion

// #region core
// Without Nest: the worker side is a WorkerControl, plugged in as a worker extension.
const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend();
const store = new InMemoryControlStore(); // RedisControlStore / PostgresControlStore in production
const channel = new BroadcastControlChannel(broker);
const slow: TaskHandler = {
  name: 'report',
  options: { queue: 'reports' },
  call: (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
};
const registry = new SimpleTaskRegistry([slow]);

const control = new WorkerControl({ store, channel, heartbeatInterval: 5_000, terminateGracePeriod: 1_000 });
const worker = new Worker({ broker, backend, registry, id: 'reports-1', extensions: [control.extension] });
await control.start(worker); // revocations and paused queues apply from the first fetch
await worker.start();

const client = new ControlClient({ channel, store });
const stem = new Stem({ broker, backend, registry });
const id = await stem.enqueue('report', {});
while ((await backend.get(id))?.state !== 'running') await new Promise((r) => setTimeout(r, 10));
const { replies } = await client.revoke([id], { terminate: true, reason: 'too slow', expect: 1 });
console.log(replies.map((r) => `${r.workerId} terminated ${r.payload?.terminated.length}`).join()); // reports-1 terminated 1
while ((await backend.get(id))?.state !== 'cancelled') await new Promise((r) => setTimeout(r, 10));
console.log((await backend.get(id))?.meta['stem.revoked.reason']); // too slow
console.log((await client.listWorkers()).map((w) => w.workerId).join()); // reports-1
await client.shutdown({ workers: ['reports-1'], mode: 'warm', expect: 1 });
// #endregion
