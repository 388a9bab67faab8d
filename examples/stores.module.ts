import { Module } from '@nestjs/common';
import { StemModule } from 'nestjs-stem';

// #region redis
@Module({
  imports: [StemModule.forRoot({ broker: 'redis://127.0.0.1:6379', worker: { concurrency: 50 } })],
  // TLS: 'rediss://user:pass@redis.example.com:6380'; key prefix: 'redis://127.0.0.1:6379?prefix=app1'
})
export class RedisAppModule {}
// #endregion

// #region postgres
@Module({
  imports: [StemModule.forRoot({ broker: 'postgres://user@db.internal:5432/app?schema=stem', worker: { concurrency: 50 } })],
})
export class PostgresAppModule {}
// #endregion
