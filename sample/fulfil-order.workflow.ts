import { Injectable } from '@nestjs/common';
import { Step, stepContext, Workflow, type WorkflowContext } from '../lib/index.js';
import { MailerService } from './mailer.service.js';
import { FulfilOrderDto } from './order.dto.js';
import { PaymentsService } from './payments.service.js';

/** What a fulfilled order returns. */
export interface Receipt {
  orderId: string;
  chargeId: string;
  amount: number;
  trackingId: string | null;
  messageId: string;
}

/** A shipment event: `shipment.<orderId>`. */
export interface Shipment {
  trackingId: string;
}

/**
 * A durable order: charge the customer, wait for the shipment event, wait a little, send the
 * receipt. `run` is replayed after each suspension; the @Step calls are checkpointed, so the
 * customer is charged once however often it replays.
 */
@Workflow({ name: 'orders.fulfil', params: FulfilOrderDto, cancellationPolicy: { maxSuspendDuration: '1h' } })
@Injectable()
export class FulfilOrderWorkflow {
  constructor(
    private readonly payments: PaymentsService,
    private readonly mailer: MailerService,
  ) {}

  async run(params: FulfilOrderDto, ctx: WorkflowContext): Promise<Receipt> {
    const charge = await this.charge(params.orderId, params.amount);
    const shipment = await ctx.awaitEvent<Shipment>(`shipment.${params.orderId}`, { timeout: '1h' });
    await ctx.sleep('200ms');
    return this.sendReceipt(params, charge, shipment);
  }

  @Step({ maxRetries: 3 })
  async charge(orderId: string, amount: number) {
    return this.payments.charge(orderId, amount, stepContext().idempotencyKey());
  }

  @Step()
  async sendReceipt(order: FulfilOrderDto, charge: { chargeId: string; amount: number }, shipment: Shipment | null): Promise<Receipt> {
    const trackingId = shipment?.trackingId ?? null;
    const messageId = await this.mailer.send(order.email, `Receipt for order ${order.orderId} (tracking ${trackingId ?? 'pending'})`);
    return { orderId: order.orderId, chargeId: charge.chargeId, amount: charge.amount, trackingId, messageId };
  }
}
