import { Module } from '@nestjs/common';
import { StemModule } from '../lib/index.js';
import { EmailController } from './email.controller.js';
import { EmailTasks } from './email.tasks.js';
import { FulfilOrderWorkflow } from './fulfil-order.workflow.js';
import { MailerService } from './mailer.service.js';
import { OrderController } from './order.controller.js';
import { PaymentsService } from './payments.service.js';

/**
 * The sample app: API and worker in one process on the in-memory broker, with tasks and a
 * durable order workflow (the worker also consumes the `workflow` queue). Set STEM_BROKER_URL
 * (e.g. redis://127.0.0.1:6379) to run the tasks and keep the workflow runs on a shared store.
 */
@Module({
  imports: [
    StemModule.forRoot({
      broker: process.env.STEM_BROKER_URL ?? 'memory://',
      worker: { queues: ['emails', 'reports'], concurrency: 8 },
      defaults: { maxRetries: 1 },
    }),
  ],
  controllers: [EmailController, OrderController],
  providers: [EmailTasks, MailerService, FulfilOrderWorkflow, PaymentsService],
})
export class AppModule {}
