import { SimpleTaskRegistry, Stem, Worker } from 'nestjs-stem/core';
import { PostgresBroker, PostgresResultBackend, withTransaction } from 'nestjs-stem/postgres';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/app';
const schema = process.env.STEM_SCHEMA ?? 'stem';
const broker = await PostgresBroker.connect(url, { schema }); // one pool per URL + schema
const backend = await PostgresResultBackend.connect(url, { schema });
const registry = new SimpleTaskRegistry([
  { name: 'order.confirm', options: { queue: 'orders', maxRetries: 3 }, call: async (_ctx, args: { orderId: number }) => `confirmed ${args.orderId}` },
]);
const worker = new Worker({ broker, backend, registry, queues: ['orders'], concurrency: 50 });
await worker.start();
const stem = new Stem({ broker, backend, registry });

await broker.pool.query(`CREATE TABLE IF NOT EXISTS "${schema}".orders (id int PRIMARY KEY)`);
const id = await withTransaction(broker.pool, async (client) => {
  await client.query(`INSERT INTO "${schema}".orders (id) VALUES ($1) ON CONFLICT DO NOTHING`, [42]);
  return stem.enqueue('order.confirm', { orderId: 42 }, { transaction: client });
});
const result = await stem.waitForTask(id, { timeout: 10_000 }); // woken across processes by LISTEN/NOTIFY
console.log(result.status?.state, result.value); // succeeded confirmed 42
await worker.close();
await broker.close();
await backend.close();
