import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Canvas, StemModule, Task, task } from 'nestjs-stem';

@Injectable()
export class ThumbnailTasks {
  @Task({ name: 'thumb.render' })
  async render(args: { id: number }) {
    if (args.id < 0) throw new Error(`no image ${args.id}`);
    await new Promise((resolve) => setTimeout(resolve, args.id * 150));
    return `thumb-${args.id}`;
  }
}

// #region results
@Injectable()
export class Thumbnails {
  constructor(private readonly canvas: Canvas) {}

  async render(ids: number[]) {
    const group = await this.canvas.group(ids.map((id) => task<string>('thumb.render', { id })));
    const done: string[] = [];
    // Members arrive as they finish (completion order), each once. A failed member is yielded
    // with its error; only a timeout (default 30 s) or an expired group ends the loop with an error.
    for await (const member of group.results({ timeout: 10_000 })) {
      if (member.state === 'succeeded') done.push(member.value!);
      else console.log(`image ${ids[member.index]} failed: ${member.error?.message}`);
    }
    return done; // render([3, 1, -1, 2]) → ['thumb-1', 'thumb-2', 'thumb-3'], after logging "image -1 failed"
  }
}
// #endregion

@Module({
  imports: [StemModule.forRoot({ broker: 'memory://', worker: { concurrency: 8 } })],
  providers: [ThumbnailTasks, Thumbnails],
})
export class ThumbnailsModule {}
