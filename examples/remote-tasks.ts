import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { defineTask, InMemoryBroker, InMemoryResultBackend, StemClient, StemModule, Task, UnknownTaskError } from 'nestjs-stem';

// One store that both apps of this file share; in production both name the same redis:// or postgres:// URL.
const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend();

// #region tasks
// tasks.ts, shared by both apps: the task's name, types and options, without its code
export const buildReport = defineTask<{ month: string }, string>('report.build', { queue: 'reports' });
// #endregion

// #region worker
// worker.module.ts: runs the task
@Injectable()
export class ReportTasks {
  @Task({ name: 'report.build', queue: 'reports' })
  async build(args: { month: string }): Promise<string> {
    return `report ${args.month}`;
  }
}

@Module({
  imports: [StemModule.forRoot({ broker, backend, worker: { concurrency: 4 } })],
  providers: [ReportTasks],
})
export class ReportWorkerModule {}
// #endregion

// #region api
// api.module.ts: no task providers, no worker; it declares what it enqueues
@Injectable()
export class Reports {
  constructor(private readonly stem: StemClient) {}

  async monthly(month: string) {
    const id = await this.stem.enqueue('report.build', { month }); // queue 'reports', from the definition
    const typed = await buildReport.enqueueAndWait(this.stem.core, { month }); // typed: typed.value is a string
    try {
      await this.stem.enqueue('report.biuld', { month }); // a typo
    } catch (error) {
      if (!(error instanceof UnknownTaskError)) throw error; // nothing was enqueued
      return { id, value: typed.value, refused: error.taskName, known: error.known };
    }
  }
}

@Module({
  imports: [StemModule.forRoot({ broker, backend, worker: false, remoteTasks: [buildReport] })],
  providers: [Reports],
})
export class ReportApiModule {}
// #endregion
