import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { StemClient, StemModule, Task, type TaskContext } from 'nestjs-stem';

// #region tenant
@Injectable()
export class ReportTasks {
  // Each tenant (the `tenant` header) may start 5 reports per second, however many workers run.
  @Task({ name: 'reports.build', groupRateLimit: '5/s' })
  build(args: { month: string }, ctx: TaskContext) {
    return `${ctx.headers.tenant} ${args.month}`;
  }

  // One budget per CRM account, picked from the args; while the limiter's store is down the
  // sync waits instead of running unlimited.
  @Task({
    name: 'crm.sync',
    groupRateLimit: '2/s',
    groupRateKey: ({ args }) => `crm:${(args as { account: string }).account}`,
    groupRateLimiterFailureMode: 'failClosed',
  })
  sync(args: { account: string }) {
    return `synced ${args.account}`;
  }
}

@Injectable()
export class Reports {
  constructor(private readonly stem: StemClient) {}

  /** Enqueues `count` reports for `tenant`; the tenant travels in the `tenant` header. */
  request(tenant: string, count: number) {
    const months = Array.from({ length: count }, (_, i) => `2026-${String(i + 1).padStart(2, '0')}`);
    return Promise.all(months.map((month) => this.stem.enqueue('reports.build', { month }, { headers: { tenant } })));
  }
}
// #endregion

// #region module
@Module({
  // With `redis://` or `postgres://` the budgets live in that store, shared by every worker.
  imports: [StemModule.forRoot({ broker: process.env.STEM_BROKER_URL ?? 'memory://' })],
  providers: [ReportTasks, Reports],
})
export class TenantReportsModule {}
// #endregion
