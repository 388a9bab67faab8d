import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { StemClient, StemModule, Task } from 'nestjs-stem';

// #region unique
@Injectable()
export class OrderTasks {
  @Task({ name: 'orders.sync', unique: true, uniqueFor: 60_000 })
  async sync(args: { orderId: number }) {
    return `synced ${args.orderId}`;
  }
}

@Injectable()
export class OrderSync {
  constructor(private readonly stem: StemClient) {}

  async syncTwice() {
    const ids = await Promise.all([1, 2, 3].map(() => this.stem.enqueue('orders.sync', { orderId: 42 }))); // one id, one publish
    const other = await this.stem.enqueue('orders.sync', { orderId: 43, at: Date.now() }, { unique: true, meta: { 'stem.unique.override': 'order-43' } });
    return { ids, other };
  }
}
// #endregion

@Module({
  imports: [StemModule.forRoot({ broker: 'memory://' })],
  providers: [OrderTasks, OrderSync],
})
export class UniqueModule {}
