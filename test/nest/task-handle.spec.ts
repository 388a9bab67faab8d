import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IsString } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { StemClient, StemModule, Task, type TaskContext } from '../../lib/index.js';

class GreetDto {
  @IsString()
  name!: string;
}

@Injectable()
class GreetingTasks {
  @Task({ name: 'greet' })
  async greet(args: GreetDto, _ctx: TaskContext): Promise<{ text: string; length: number }> {
    return { text: `hello ${args.name}`, length: args.name.length };
  }

  @Task()
  async shout(args: { words: string[] }): Promise<string> {
    return args.words.join(' ').toUpperCase();
  }

  @Task({ name: 'routed', queue: 'special', priority: 7, maxRetries: 4 })
  async routed(_args: { id: number }): Promise<void> {}

  notATask(): void {}
}

async function boot() {
  @Module({ imports: [StemModule.forRoot({ worker: { concurrency: 2 } })], providers: [GreetingTasks] })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('StemClient.task(): typed handles from @Task() methods', () => {
  it('enqueues by the decorated name (or Class.method) and types the result', async () => {
    const app = await boot();
    const stem = app.get(StemClient);
    const greet = stem.task(GreetingTasks, 'greet');
    expect(greet.name).toBe('greet');
    const res = await greet.enqueueAndWait({ name: 'Ada' }, { timeout: 5_000 });
    const length: number | undefined = res.value?.length;
    expect(length).toBe(3);
    expect(res.value?.text).toBe('hello Ada');
    const shout = stem.task(GreetingTasks, 'shout');
    expect(shout.name).toBe('GreetingTasks.shout');
    const id = await shout.enqueue({ words: ['stem', 'rocks'] });
    expect((await shout.waitFor(id, { timeout: 5_000 })).value).toBe('STEM ROCKS');
    expect(() => stem.task(GreetingTasks, 'notATask')).toThrow(/GreetingTasks\.notATask is not a @Task\(\) method/);
    await app.close();
  });
});

describe('typed handles in a producer-only app', () => {
  it('carry the @Task() options, so the task lands on its queue even when the host class is not provided here', async () => {
    @Module({ imports: [StemModule.forRoot({ worker: false })] })
    class ApiModule {}
    const moduleRef = await Test.createTestingModule({ imports: [ApiModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const stem = app.get(StemClient);
    const published: { queue: string; priority: number; maxRetries?: number }[] = [];
    const broker = stem.core.broker;
    const publish = broker.publish.bind(broker);
    broker.publish = async (envelope) => {
      published.push({ queue: envelope.queue, priority: envelope.priority, maxRetries: envelope.maxRetries });
      return publish(envelope);
    };
    await stem.task(GreetingTasks, 'routed').enqueue({ id: 1 });
    expect(published).toEqual([{ queue: 'special', priority: 7, maxRetries: 4 }]);
    expect(await broker.pendingCount('special')).toBe(1);
    await app.close();
  });
});

// Compile-time checks (`npm run typecheck` compiles this file): wrong argument types and unknown
// methods must not compile.
export function typeChecks(stem: StemClient): void {
  const greet = stem.task(GreetingTasks, 'greet');
  // @ts-expect-error name must be a string
  void greet.enqueue({ name: 42 });
  // @ts-expect-error missing required property
  void greet.enqueue({});
  // @ts-expect-error no such method on GreetingTasks
  stem.task(GreetingTasks, 'greets');
  void greet.enqueueAndWait({ name: 'ok' }).then((res) => {
    // @ts-expect-error the result has no such field
    void res.value?.missing;
  });
}
