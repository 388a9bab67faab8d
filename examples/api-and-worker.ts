import 'reflect-metadata';
import { type INestApplicationContext, Injectable, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type Broker, requireBrokerCapability, STEM_BROKER, StemClient, StemModule, Task } from 'nestjs-stem';
import { StemWorkerStrategy } from 'nestjs-stem/microservices';

@Injectable()
export class ReportTasks {
  @Task({ name: 'report.build', queue: 'reports' })
  async build(args: { month: string }): Promise<string> {
    return `report ${args.month}`;
  }
}

// #region modules
// api.module.ts: enqueues, runs nothing. An unset STEM_BROKER_URL fails at boot (ConfigurationError).
@Module({
  imports: [StemModule.forRoot({ broker: process.env.STEM_BROKER_URL, worker: false })],
  providers: [ReportTasks], // known here too, so enqueue checks the args (DTOs)
})
export class ApiModule {}

// worker.module.ts: consumes the tasks' queues
@Module({
  imports: [StemModule.forRoot({ broker: process.env.STEM_BROKER_URL, worker: { concurrency: 8 } })],
  providers: [ReportTasks],
})
export class WorkerModule {}

// worker.ts: a Nest microservice (needs @nestjs/microservices) that drains on SIGTERM
export async function startWorker() {
  const app = await NestFactory.createMicroservice(WorkerModule, { strategy: new StemWorkerStrategy() });
  app.enableShutdownHooks();
  await app.listen();
  return app;
}
// #endregion

/** Signals and dead letters, from any Nest app context. */
export async function inspect(app: INestApplicationContext, taskId: string) {
  const logger = new Logger('Reports');
  // #region events
  const stem = app.get(StemClient);
  stem.signals.on('task-failed', ({ envelope, error }) => logger.error(`${envelope.name}: ${error.message}`));
  // #endregion
  // #region dead-letters
  const broker = requireBrokerCapability(app.get<Broker>(STEM_BROKER), 'dead-letter-admin', 'manage dead letters');
  const page = await broker.listDeadLetters('reports', { limit: 20 });
  const entry = await broker.getDeadLetter('reports', taskId);
  const wouldReplay = await broker.replayDeadLetters('reports', { dryRun: true }); // what would be replayed
  await broker.replayDeadLetters('reports', { since: Date.now() - 3_600_000, delay: 5_000 });
  await broker.replayDeadLetters('reports', { ids: [taskId], limit: 1 }); // exactly this one
  await broker.purgeDeadLetters('reports', { reason: 'expired' });
  // #endregion
  return { page, entry, wouldReplay };
}
