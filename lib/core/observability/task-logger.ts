import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import type { Envelope } from '../envelope.js';
import { readTraceContext } from './trace-headers.js';

/** Severity of a task log line. */
export type TaskLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What every line of `ctx.logger` carries besides its message. */
export interface TaskLogFields {
  readonly taskId: string;
  readonly task: string;
  readonly queue: string;
  /** 0-based attempt. */
  readonly attempt: number;
  /** Trace of the span active when the line was written (the attempt's `process` span), else the one the envelope carries. */
  readonly traceId?: string;
  readonly spanId?: string;
}

/** Receives every `ctx.logger` line: route it to your logger (pino, Nest `Logger`, ...). */
export type TaskLogSink = (level: TaskLogLevel, message: string, fields: TaskLogFields, extra: Readonly<Record<string, unknown>> | undefined) => void;

/** `ctx.logger`: log lines of one attempt, each stamped with the task's id, name, attempt and trace id. */
export interface TaskLogger {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** The fields of a line written now for `envelope`. */
export function taskLogFields(envelope: Envelope): TaskLogFields {
  const base = { taskId: envelope.id, task: envelope.name, queue: envelope.queue, attempt: envelope.attempt };
  const active = trace.getSpanContext(context.active());
  if (active && isSpanContextValid(active)) return { ...base, traceId: active.traceId, spanId: active.spanId };
  const carried = readTraceContext(envelope.headers);
  return carried ? { ...base, traceId: carried.traceId } : base;
}

/** A {@link TaskLogger} for one attempt that writes to `sink`. */
export function createTaskLogger(envelope: Envelope, sink: TaskLogSink): TaskLogger {
  const write = (level: TaskLogLevel) => (message: string, extra?: Record<string, unknown>) => sink(level, message, taskLogFields(envelope), extra);
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/**
 * The default sink: one line per call on the console,
 * `[stem] <task> <id>#<attempt> trace=<trace id> <message> <extra as JSON>`.
 */
export const consoleTaskLogSink: TaskLogSink = (level, message, fields, extra) => {
  const trace = fields.traceId ? ` trace=${fields.traceId}` : '';
  const tail = extra && Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
  console[level](`[stem] ${fields.task} ${fields.taskId}#${fields.attempt}${trace} ${message}${tail}`);
};
