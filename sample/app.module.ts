import { Module } from '@nestjs/common';
import { StemModule } from '../lib/index.js';
import { EmailController } from './email.controller.js';
import { EmailTasks } from './email.tasks.js';
import { MailerService } from './mailer.service.js';

/**
 * The sample app: API and worker in one process on the in-memory broker. Set STEM_BROKER_URL
 * (e.g. redis://127.0.0.1:6379) to run on a shared store.
 */
@Module({
  imports: [
    StemModule.forRoot({
      broker: process.env.STEM_BROKER_URL ?? 'memory://',
      worker: { queues: ['emails', 'reports'], concurrency: 8 },
      defaults: { maxRetries: 1 },
    }),
  ],
  controllers: [EmailController],
  providers: [EmailTasks, MailerService],
})
export class AppModule {}
