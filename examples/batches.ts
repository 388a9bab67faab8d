import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Canvas, StemModule, Task, task } from 'nestjs-stem';

@Injectable()
export class ImportTasks {
  @Task({ name: 'import.row', maxRetries: 0 })
  row(args: { row: number }) {
    if (args.row < 0) throw new Error(`row ${args.row} is invalid`);
    return args.row * 10;
  }
}

// #region batches
@Injectable()
export class Imports {
  constructor(private readonly canvas: Canvas) {}

  // A retried request, a second replica or a restarted process submitting the same file gets the
  // same batch back (the same task ids) and enqueues nothing new.
  async start(fileId: string, rows: number[]) {
    return this.canvas.submitBatch(
      rows.map((row) => task<number>('import.row', { row })),
      { batchId: `import:${fileId}`, ttl: 24 * 3_600_000 },
    );
  }

  async progress(fileId: string) {
    const status = await this.canvas.inspectBatch(`import:${fileId}`); // null once the ttl passed
    // e.g. { state: 'partial', completed: 3, counts: { succeeded: 2, failed: 1, ... }, failedTaskIds: ['...'] }
    return status && { state: status.state, counts: status.counts, failedTaskIds: status.failedTaskIds };
  }
}
// #endregion

@Module({
  imports: [StemModule.forRoot({ broker: 'memory://' })],
  providers: [ImportTasks, Imports],
})
export class BatchesModule {}
