import { Injectable, Logger } from '@nestjs/common';

/** A pretend payment provider that, like real ones, answers a repeated idempotency key with the first charge. */
@Injectable()
export class PaymentsService {
  private readonly logger = new Logger('Payments');
  private readonly charges = new Map<string, { chargeId: string; amount: number }>();

  async charge(orderId: string, amount: number, idempotencyKey: string): Promise<{ chargeId: string; amount: number }> {
    const existing = this.charges.get(idempotencyKey);
    if (existing) return existing;
    const charge = { chargeId: `ch-${this.charges.size + 1}`, amount };
    this.charges.set(idempotencyKey, charge);
    this.logger.log(`charged ${amount} cents for order ${orderId} (idempotency key ${idempotencyKey})`);
    return charge;
  }
}
