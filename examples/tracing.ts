import { StemModule } from 'nestjs-stem';
import { SimpleTaskRegistry, Stem, StemTracing, Worker } from 'nestjs-stem/core';
import { InMemoryBroker, InMemoryResultBackend } from 'nestjs-stem/memory';

// #region module
// Both are on by default; this keeps traces and puts every attempt in a trace of its own, linked to its send span.
export const TracedStem = StemModule.forRoot({ telemetry: { traces: { parentage: 'link' }, metrics: true } });
// #endregion

// #region core
const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend();
const registry = new SimpleTaskRegistry([
  {
    name: 'report.build',
    call: (ctx) => {
      ctx.logger.info('building'); // carries the task id, name, attempt and trace id
      return ctx.headers['traceparent'] !== undefined;
    },
  },
]);
const tracing = new StemTracing(); // the global tracer provider, parentage 'child'
const stem = new Stem({ broker, backend, registry, tracing });
const worker = new Worker({ broker, backend, registry, producer: stem, tracing, taskLogSink: (level, message, f) => console.log(`${level} ${f.task}#${f.attempt} ${message}`) });
await worker.start();
const { value } = await stem.waitForTask(await stem.enqueue('report.build'), { timeout: 5_000 });
console.log(value); // false: without an SDK nothing records and no traceparent is written
await worker.close();
// #endregion
