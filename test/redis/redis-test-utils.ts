import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** A key prefix no other test file uses. */
export function uniquePrefix(name: string): string {
  return `stem-test-${name}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix` (on one standalone server). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
