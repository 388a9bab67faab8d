import { RedisRateLimiter, RedisResultBackend, RedisStreamsBroker } from 'nestjs-stem/redis';
import { SimpleTaskRegistry, Stem, Worker } from 'nestjs-stem/core';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.STEM_PREFIX ?? 'stem'; // key prefix: one per app sharing the server
const broker = await RedisStreamsBroker.connect(url, { prefix }); // also { defaultVisibilityTimeout: 30_000 }
const backend = await RedisResultBackend.connect(url, { prefix }); // also { defaultTtl: 86_400_000 }
const rateLimiter = await RedisRateLimiter.connect(url, { prefix }); // global across workers
const registry = new SimpleTaskRegistry([{ name: 'math.add', options: { rateLimit: '100/s' }, call: async (_ctx, { a, b }: { a: number; b: number }) => a + b }]);

const worker = new Worker({ broker, backend, registry, rateLimiter, queues: ['default'], concurrency: 50 });
await worker.start();
const stem = new Stem({ broker, backend, registry });
const id = await stem.enqueue('math.add', { a: 2, b: 3 });
console.log((await stem.waitForTask<number>(id, { timeout: 5_000 })).value); // 5
await worker.close();
await Promise.all([broker.close(), backend.close(), rateLimiter.close()]);
