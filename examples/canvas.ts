import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Canvas, chordResults, parentResult, StemClient, StemModule, Task, task, type TaskContext } from 'nestjs-stem';

// #region tasks
@Injectable()
export class MathTasks {
  @Task({ name: 'math.square' })
  square(args: { n: number }) {
    return args.n * args.n;
  }

  // A chord's callback reads the members' results, in body order.
  @Task({ name: 'math.sum' })
  sum(_args: unknown, ctx: TaskContext) {
    return chordResults<number>(ctx).reduce((a, b) => a + b, 0);
  }

  // A chain member reads the previous member's result.
  @Task({ name: 'math.double' })
  double(_args: unknown, ctx: TaskContext) {
    return parentResult<number>(ctx)! * 2;
  }

  @Task({ name: 'sum.batch' })
  sumBatch(items: number[]) {
    return items.reduce((a, b) => a + b, 0);
  }
}
// #endregion

// #region service
@Injectable()
export class Reports {
  constructor(
    private readonly canvas: Canvas,
    private readonly stem: StemClient,
  ) {}

  async run() {
    const group = await this.canvas.group([1, 2, 3].map((n) => task<number>('math.square', { n })));
    const squares = (await group.wait()).values; // [1, 4, 9], in body order

    // The worker that finishes the last member dispatches the callback, exactly once.
    const chord = await this.canvas.chord(
      [1, 2, 3].map((n) => task<number>('math.square', { n })),
      task<number>('math.sum', {}),
    );
    const total = (await chord.wait()).value; // 14; if a member fails, the callback is `failed` with that error

    // Workers advance chains; the producer may exit after enqueueing.
    const chain = await this.canvas.chain([task<number>('math.square', { n: 3 }), task<number>('math.double', {})]);
    const doubled = (await chain.wait()).value; // 18

    const mapped = await this.canvas.map<number>('math.square', [{ n: 4 }, { n: 5 }]); // one task per item
    const items = Array.from({ length: 250 }, (_, i) => i);
    const chunked = await this.canvas.chunks<number>('sum.batch', items, 100); // one task per 100 items
    await this.stem.enqueue('math.square', { n: 6 }, { link: [task('math.double', {})] }); // then math.double
    return { squares, total, doubled, mapped: (await mapped.wait()).values, chunked: (await chunked.wait()).values };
  }
}
// #endregion

@Module({
  imports: [StemModule.forRoot({ broker: 'memory://' })],
  providers: [MathTasks, Reports],
})
export class CanvasModule {}
