import { randomBytes } from 'node:crypto';
import type { Consumer, Delivery } from '../core/contracts/broker.js';
import type { Envelope } from '../core/envelope.js';
import { uuidv7 } from '../core/utils/uuid.js';

/** A queue name no other test uses: `<prefix>-<random>`. */
export function uniqueName(prefix = 'test'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** Builds an envelope for adapter tests. */
export function makeEnvelope(queue: string, overrides: Partial<Envelope> = {}): Envelope {
  return {
    id: uuidv7(),
    name: 'contract.task',
    args: { n: 1 },
    headers: {},
    queue,
    priority: 0,
    attempt: 0,
    enqueuedAt: Date.now(),
    meta: {},
    ...overrides,
  };
}

/** Fetches from `consumer`, giving up after `ms` (returns `[]`). */
export async function fetchWithin(consumer: Consumer, max: number, ms: number): Promise<Delivery[]> {
  return consumer.fetch(max, AbortSignal.timeout(ms));
}

/** Fetches until `count` deliveries arrived or `ms` passed. */
export async function fetchAll(consumer: Consumer, count: number, ms: number): Promise<Delivery[]> {
  const deadline = Date.now() + ms;
  const out: Delivery[] = [];
  while (out.length < count && Date.now() < deadline) {
    out.push(...(await consumer.fetch(count - out.length, AbortSignal.timeout(Math.max(1, deadline - Date.now())))));
  }
  return out;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
