import 'reflect-metadata';
import { Injectable, type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { withTransaction } from '../lib/adapters/postgres/index.js';
import { type Broker, STEM_BROKER, StemClient, StemModule, type StemModuleOptions, Task } from '../lib/index.js';
import { isolatedPostgresUrl, POSTGRES_URL, postgresAvailable } from '../test/support/services.js';

@Injectable()
class OrderTasks {
  readonly confirmed: number[] = [];

  @Task({ name: 'order.confirm', queue: 'orders' })
  confirm(args: { orderId: number }): number {
    this.confirmed.push(args.orderId);
    return args.orderId;
  }
}

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function boot(options: StemModuleOptions): Promise<INestApplication> {
  @Module({ imports: [StemModule.forRoot(options)], providers: [OrderTasks] })
  class AppModule {}
  const app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({ logger: false });
  apps.push(app);
  await app.init();
  return app;
}

const hasPostgres = await postgresAvailable();
const postgres = isolatedPostgresUrl('stem_tx_e2e');
afterAll(async () => {
  if (hasPostgres) await postgres.drop();
});

describe.skipIf(!hasPostgres)('Transactional enqueue on Postgres', () => {
  it('a committed transaction enqueues the task; a rolled-back one enqueues nothing', async () => {
    const app = await boot({ broker: postgres.url, worker: { queues: ['orders'] } });
    const stem = app.get(StemClient);
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
    const table = `${postgres.schema}.orders`;
    await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);

    const committed = await withTransaction(pool, async (client) => {
      await client.query(`INSERT INTO ${table} (id) VALUES (1)`);
      return stem.enqueue('order.confirm', { orderId: 1 }, { transaction: client });
    });
    let rolledBack: string | undefined;
    await expect(
      withTransaction(pool, async (client) => {
        await client.query(`INSERT INTO ${table} (id) VALUES (2)`);
        rolledBack = await stem.enqueue('order.confirm', { orderId: 2 }, { transaction: client });
        throw new Error('payment declined');
      }),
    ).rejects.toThrow('payment declined');

    expect((await stem.waitForTask(committed, { timeout: 10_000 })).value).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(app.get(OrderTasks).confirmed).toEqual([1]);
    expect(await stem.getTaskStatus(rolledBack!)).toBeNull();
    expect(await app.get<Broker>(STEM_BROKER).pendingCount('orders')).toBe(0);
    await pool.end();
  });

  it('refuses a transaction on a broker that cannot join it, naming the task', async () => {
    const app = await boot({ worker: false });
    await expect(app.get(StemClient).enqueue('order.confirm', { orderId: 3 }, { transaction: {} })).rejects.toThrow(
      /Invalid option "transaction": task "order.confirm": the memory broker cannot publish inside your transaction/,
    );
  });
});
