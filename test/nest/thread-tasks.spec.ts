import { createHash } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { ThreadPoolStats } from '../../lib/core/index.js';
import { StemClient, StemWorkerHost } from '../../lib/nest/index.js';
import { STEM_RESULT_BACKEND } from '../../lib/nest/stem.constants.js';
import type { ResultBackend } from '../../lib/core/index.js';
import '../support/thread-loader.js';
import { ThreadAppModule } from './fixtures/thread-app.module.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function boot() {
  const moduleRef = await Test.createTestingModule({ imports: [ThreadAppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  closers.push(() => app.close());
  return { client: app.get(StemClient), host: app.get(StemWorkerHost), backend: app.get<ResultBackend>(STEM_RESULT_BACKEND) };
}

describe('@Task({ runIn: "thread" }) in a Nest app', () => {
  it('runs the method in a pool thread on its own provider instance, with a DTO instance and progress', async () => {
    const { client, host, backend } = await boot();
    const id = await client.enqueue('cpu.hash', { text: 'abc', rounds: 3 });
    const result = await client.waitForTask<{ dto: boolean; label: string; digest: string; threadId: number; hasherThread: number }>(id, { timeout: 30_000 });
    expect(result.status?.state).toBe('succeeded');
    let expected = 'abc';
    for (let i = 0; i < 3; i++) expected = createHash('sha256').update(expected).digest('hex');
    expect(result.value).toMatchObject({ dto: true, label: 'abcx3', digest: expected });
    expect(result.value!.threadId).toBeGreaterThan(0);
    expect(result.value!.hasherThread).toBe(result.value!.threadId);
    expect((await backend.get(id))?.progress).toMatchObject({ percent: 50, data: { label: 'abcx3' } });
    const pool = host.worker!.stats().executors.thread as ThreadPoolStats;
    expect(pool).toMatchObject({ size: 1, busy: 0 });
  });

  it('keeps inline tasks on the main thread and rejects invalid args before a thread sees them', async () => {
    const { client } = await boot();
    const inline = await client.waitForTask<{ threadId: number }>(await client.enqueue('cpu.inline', { text: 'a', rounds: 1 }), { timeout: 30_000 });
    expect(inline.value?.threadId).toBe(0);
    await expect(client.enqueue('cpu.hash', { text: 'a', rounds: 0 })).rejects.toThrow(/rounds/);
  });
});
