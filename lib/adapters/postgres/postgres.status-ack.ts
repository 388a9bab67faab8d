import type { Delivery } from '../../core/contracts/broker.js';
import type { SetStatusOptions, TaskStatusUpdate } from '../../core/contracts/result-backend.js';
import type { StatusAck } from '../../core/contracts/status-ack.js';
import { decodeReceipt } from './postgres.receipt.js';
import type { PostgresStatusTarget } from './postgres.status-target.js';

/**
 * Acks a delivery in the statement that writes its terminal status: the write joins the result
 * backend's write batch carrying the job row and lease, and the batch's upsert deletes the rows
 * of the acked deliveries in the same statement (`sql/results-ack.sql.ts`). The status and the
 * ack commit together, so the ack never happens without the status, and the status keeps every
 * property of `set` (order per task, NOTIFY of watchers, TTL).
 */
export class PostgresStatusAcker implements StatusAck {
  /**
   * @param jobs the quoted schema of the broker's `jobs` table
   * @param target the result backend, on the broker's pool
   */
  constructor(
    private readonly jobs: string,
    private readonly target: PostgresStatusTarget,
    private readonly assertOpen: () => void,
  ) {}

  async ackWithStatus(delivery: Delivery, update: TaskStatusUpdate, options: SetStatusOptions = {}): Promise<void> {
    this.assertOpen();
    const receipt = decodeReceipt(delivery.receipt);
    // NOTE: a receipt this broker did not make acks nothing, as `ack` does; the status is still written.
    await this.target.setAndAck(delivery.envelope.id, update, options, receipt ? { schema: this.jobs, id: receipt.id, lease: receipt.lease } : undefined);
  }
}
