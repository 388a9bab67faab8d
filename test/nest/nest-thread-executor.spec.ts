import { describe, expect, it } from 'vitest';
import { ConfigurationError, SimpleTaskRegistry, ThreadExecutor } from '../../lib/core/index.js';
import { fileURLToPath } from 'node:url';
import type { Provider, ValueProvider } from '@nestjs/common';
import { StemModule } from '../../lib/nest/index.js';
import { STEM_MODULE_SOURCE } from '../../lib/nest/threads/module-source.js';
import { createNestThreadExecutor } from '../../lib/nest/threads/nest-thread-executor.js';

const sourceOf = (providers: Provider[] | undefined) =>
  (providers ?? []).find((p): p is ValueProvider => typeof p === 'object' && 'provide' in p && p.provide === STEM_MODULE_SOURCE)?.useValue;

const threadHandler = { name: 'cpu.digest', options: { runIn: 'thread' }, call: () => null };
const inlineHandler = { name: 'mail.send', call: () => null };

describe('the thread executor of a Nest worker', () => {
  it('forRoot and forRootAsync record the file that calls them', () => {
    const here = fileURLToPath(import.meta.url);
    expect(sourceOf(StemModule.forRoot({ broker: 'memory://' }).providers)).toBe(here);
    expect(sourceOf(StemModule.forRootAsync({ useFactory: () => ({ broker: 'memory://' }) }).providers)).toBe(here);
  });

  it('is not created when no task runs in a thread and worker.threads is unset', () => {
    expect(createNestThreadExecutor(undefined, new SimpleTaskRegistry([inlineHandler]), '/app/app.module.js')).toBeUndefined();
  });

  it('is created for a thread task, booting the recorded module file, with the pool options', async () => {
    const executor = createNestThreadExecutor({ size: 3, maxTasksPerThread: 10 }, new SimpleTaskRegistry([threadHandler]), '/app/app.module.js');
    expect(executor).toBeInstanceOf(ThreadExecutor);
    expect(executor!.stats()).toMatchObject({ size: 0, maxSize: 3 });
    await executor!.close();
  });

  it('names the tasks and the option to set when the module file is unknown', () => {
    const registry = new SimpleTaskRegistry([threadHandler, inlineHandler]);
    expect(() => createNestThreadExecutor(undefined, registry, null)).toThrow(ConfigurationError);
    expect(() => createNestThreadExecutor(undefined, registry, null)).toThrow(/cpu\.digest.*worker\.threads\.module/);
    expect(createNestThreadExecutor({ module: { file: '/app/jobs.module.js', export: 'JobsModule' } }, registry, null)).toBeInstanceOf(ThreadExecutor);
  });
});
