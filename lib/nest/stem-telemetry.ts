import { Logger } from '@nestjs/common';
import { StemTracing } from '../core/observability/stem-tracing.js';
import type { TaskLogSink } from '../core/observability/task-logger.js';
import type { StemModuleOptions } from './interfaces/stem-module-options.interface.js';

/** Whether the module records `stem.*` metrics (`telemetry: false` or `{ metrics: false }` turn them off). */
export function metricsEnabled(options: StemModuleOptions): boolean {
  const telemetry = options.telemetry;
  if (telemetry === undefined || telemetry === true) return true;
  if (telemetry === false) return false;
  return telemetry.metrics !== false;
}

/** The module's tracing, or `undefined` when `telemetry: false` or `{ traces: false }` turn it off. */
export function tracingOf(options: StemModuleOptions): StemTracing | undefined {
  const telemetry = options.telemetry;
  if (telemetry === false) return undefined;
  if (telemetry === undefined || telemetry === true) return new StemTracing();
  return StemTracing.from(telemetry.traces);
}

const loggers = new Map<string, Logger>();

/**
 * Writes `ctx.logger` lines to the Nest `Logger`, with the task name as context and the task id,
 * attempt and trace id in each line: `charged card (task 0193… attempt 1 trace 4bf9…) {"amount":42}`.
 */
export const nestTaskLogSink: TaskLogSink = (level, message, fields, extra) => {
  let logger = loggers.get(fields.task);
  if (!logger) loggers.set(fields.task, (logger = new Logger(fields.task)));
  const trace = fields.traceId ? ` trace ${fields.traceId}` : '';
  const tail = extra && Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
  const line = `${message} (task ${fields.taskId} attempt ${fields.attempt}${trace})${tail}`;
  if (level === 'info') logger.log(line);
  else logger[level](line);
};
