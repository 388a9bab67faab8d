import { Injectable } from '@nestjs/common';
import { Task, type TaskContext } from '../lib/index.js';
import { MailerService } from './mailer.service.js';
import { SendEmailDto } from './send-email.dto.js';

/** Tasks of the sample: a DTO-validated email, a report that fails once and retries. */
@Injectable()
export class EmailTasks {
  constructor(private readonly mailer: MailerService) {}

  @Task({ name: 'email.send', queue: 'emails', maxRetries: 3, visibilityTimeout: 60_000 })
  async send(args: SendEmailDto, ctx: TaskContext): Promise<{ delivered: boolean; messageId: string }> {
    await ctx.progress(50, { stage: 'sending' });
    const messageId = await this.mailer.send(args.to, args.subject);
    return { delivered: true, messageId };
  }

  @Task({ name: 'report.build', queue: 'reports', maxRetries: 2, retryPolicy: { backoff: 200 } })
  async buildReport(args: { month: string }, ctx: TaskContext): Promise<{ month: string; rows: number; attempt: number }> {
    ctx.logger.info(`building the report of ${args.month}`);
    if (ctx.attempt === 0) throw new Error('warehouse connection reset (fails on purpose the first time)');
    return { month: args.month, rows: 1_234, attempt: ctx.attempt };
  }
}
