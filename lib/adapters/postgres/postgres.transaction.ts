import type pg from 'pg';

/**
 * Runs `work` inside `BEGIN` … `COMMIT` on one pooled connection, rolling back when it throws.
 * Use it to enqueue jobs atomically with your own writes.
 *
 * @example
 * await withTransaction(pool, async (client) => {
 *   await client.query('INSERT INTO orders (id) VALUES ($1)', [orderId]);
 *   await broker.publishWith(client, envelope); // visible to workers only after COMMIT
 * });
 */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  // NOTE: a checked-out client without an 'error' listener crashes the process if its connection dies.
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken ??= await client.query('ROLLBACK').then(
      () => undefined,
      (rollbackError: Error) => rollbackError,
    );
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}
