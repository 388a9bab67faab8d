import 'reflect-metadata';
import { Body, Controller, Injectable, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { IsEmail, IsString } from 'class-validator';
import { StemClient, StemExceptionFilter, StemModule, Task, type TaskContext } from 'nestjs-stem';

export class SendEmailDto {
  @IsEmail() to!: string;
  @IsString() subject!: string;
}

@Injectable()
export class Mailer {
  // your mail transport (SMTP, an API client, ...)
  async send(to: string, subject: string, options: { signal: AbortSignal }): Promise<void> {
    options.signal.throwIfAborted();
    console.log(`mail to ${to}: ${subject}`);
  }
}

@Injectable()
export class EmailTasks {
  constructor(private readonly mailer: Mailer) {} // normal DI works in task hosts

  @Task({ name: 'email.send', queue: 'emails', maxRetries: 3, visibilityTimeout: 60_000 })
  async send(args: SendEmailDto, ctx: TaskContext): Promise<{ delivered: boolean }> {
    await this.mailer.send(args.to, args.subject, { signal: ctx.signal });
    return { delivered: true };
  }
}

@Controller('emails')
export class EmailController {
  constructor(private readonly stem: StemClient) {}

  @Post() // an invalid body throws InvalidTaskArgsError: 400 via StemExceptionFilter
  async send(@Body() body: SendEmailDto) {
    const id = await this.stem.enqueue('email.send', body, { priority: 5, headers: { 'x-tenant': 'a' } });
    const res = await this.stem.waitForTask<{ delivered: boolean }>(id, { timeout: 5_000 });
    return { id, state: res.status?.state, delivered: res.value?.delivered, timedOut: res.timedOut };
  }

  @Post('later') // fire and forget: runs in 30 s, answer at once
  async later(@Body() body: SendEmailDto) {
    return { id: await this.stem.enqueue('email.send', body, { delay: 30_000 }) };
  }
}

@Module({
  imports: [StemModule.forRoot({ broker: 'memory://', worker: { queues: ['emails'], concurrency: 8 } })],
  controllers: [EmailController],
  providers: [EmailTasks, Mailer],
})
export class AppModule {}

export async function bootstrap(port = Number(process.env.PORT ?? 3000)) {
  const app = await NestFactory.create(AppModule);
  app.useGlobalFilters(new StemExceptionFilter()); // InvalidTaskArgsError -> 400 with the violations
  app.enableShutdownHooks(); // SIGTERM drains the worker
  await app.listen(port);
  return app;
}
