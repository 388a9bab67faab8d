import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { StemClient, StemModule, Task } from 'nestjs-stem';

@Injectable()
export class EmailTasks {
  @Task({ name: 'email.send', queue: 'emails' })
  async send(args: { to: string; subject: string }): Promise<{ delivered: boolean }> {
    return { delivered: args.to.includes('@') };
  }
}

@Injectable()
export class Notifier {
  constructor(private readonly stem: StemClient) {}

  async welcome(): Promise<boolean | undefined> {
    // #region handle
    const send = this.stem.task(EmailTasks, 'send');
    const res = await send.enqueueAndWait({ to: 'a@b.co', subject: 'hi' }, { timeout: 5_000 });
    res.value?.delivered; // boolean
    // @ts-expect-error: `to` must be a string
    await send.enqueue({ to: 42, subject: 'hi' });
    // #endregion
    return res.value?.delivered;
  }
}

@Module({
  imports: [StemModule.forRoot({ worker: { queues: ['emails'] } })],
  providers: [EmailTasks, Notifier],
})
export class TypedTasksModule {}
