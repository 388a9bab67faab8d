import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { Injectable, Module } from '@nestjs/common';
import { IsInt, IsString, Min } from 'class-validator';
import { StemModule, Task, type TaskContext } from 'nestjs-stem';

// #region tasks
export class DigestArgs {
  @IsString() text!: string;
  @IsInt() @Min(1) rounds!: number;
}

@Injectable()
export class Hasher {
  digest(text: string, rounds: number): string {
    let out = text;
    for (let i = 0; i < rounds; i++) out = createHash('sha256').update(out).digest('hex');
    return out;
  }
}

class QuotaError extends Error {}

@Injectable()
export class CpuTasks {
  constructor(private readonly hasher: Hasher) {} // injected in each thread, from that thread's app context

  @Task({ name: 'cpu.digest', runIn: 'thread', hardTimeLimit: 10_000, retryPolicy: { autoRetryFor: ['QuotaError'] } })
  async digest(args: DigestArgs, ctx: TaskContext): Promise<string> {
    if (args.text.length > 1_000_000) throw new QuotaError('text too long'); // retried: matched by its class name
    await ctx.progress(10); // written by the worker on the main thread
    return this.hasher.digest(args.text, args.rounds); // args is a DigestArgs instance
  }
}

@Module({
  imports: [
    StemModule.forRoot({
      broker: process.env.STEM_BROKER_URL ?? 'memory://',
      worker: {
        threads: { size: 2, maxTasksPerThread: 1_000, maxMemoryMb: 512, idleTimeout: 60_000 },
        autoscale: { min: 2, max: 16, backlogPerSlot: 10, scaleUpCooldown: 1_000, scaleDownCooldown: 10_000, idlePeriod: 30_000 },
      },
    }),
  ],
  providers: [Hasher, CpuTasks],
})
export class CpuModule {}
// #endregion
