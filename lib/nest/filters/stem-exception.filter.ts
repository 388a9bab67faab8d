import { type ArgumentsHost, Catch, type ExceptionFilter, HttpStatus, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ArgsViolation } from '../../core/errors/invalid-task-args.error.js';
import { InvalidTaskArgsError } from '../../core/errors/invalid-task-args.error.js';
import { InvalidWorkflowParamsError } from '../errors/invalid-workflow-params.error.js';

/** The JSON body {@link StemExceptionFilter} answers with (Nest's `ValidationPipe` shape, plus the task). */
export interface InvalidTaskArgsResponseBody {
  readonly statusCode: 400;
  readonly error: 'Bad Request';
  /** One line per failed constraint, e.g. `to must be an email`. */
  readonly message: string[];
  /** The task whose arguments were rejected. */
  readonly task: string;
  /** Every failed constraint by property path. */
  readonly violations: readonly ArgsViolation[];
}

/** The 400 response body for an {@link InvalidTaskArgsError}. */
export function invalidTaskArgsResponseBody(error: InvalidTaskArgsError): InvalidTaskArgsResponseBody {
  return {
    statusCode: HttpStatus.BAD_REQUEST,
    error: 'Bad Request',
    message: error.violations.flatMap((v) => Object.values(v.constraints)),
    task: error.taskName,
    violations: error.violations,
  };
}

/** The JSON body {@link StemExceptionFilter} answers with for an {@link InvalidWorkflowParamsError}. */
export interface InvalidWorkflowParamsResponseBody {
  readonly statusCode: 400;
  readonly error: 'Bad Request';
  /** One line per failed constraint. */
  readonly message: string[];
  /** The workflow whose params were rejected. */
  readonly workflow: string;
  /** Every failed constraint by property path. */
  readonly violations: readonly ArgsViolation[];
}

/** The 400 response body for an {@link InvalidWorkflowParamsError}. */
export function invalidWorkflowParamsResponseBody(error: InvalidWorkflowParamsError): InvalidWorkflowParamsResponseBody {
  return {
    statusCode: HttpStatus.BAD_REQUEST,
    error: 'Bad Request',
    message: error.violations.flatMap((v) => Object.values(v.constraints)),
    workflow: error.workflow,
    violations: error.violations,
  };
}

interface ExpressLikeResponse {
  status(code: number): { json(body: unknown): unknown };
}
interface FastifyLikeResponse {
  code(code: number): { send(body: unknown): unknown };
}

/**
 * Answers HTTP 400 with the violations when a request handler lets an
 * {@link InvalidTaskArgsError} or {@link InvalidWorkflowParamsError} escape (a controller passed
 * an invalid DTO to `enqueue` or `workflows.start`), instead of Nest's default 500. Works on Express and Fastify. Other contexts (RPC, WebSockets) get the
 * error unchanged.
 *
 * @example
 * // main.ts, for every controller:
 * app.useGlobalFilters(new StemExceptionFilter());
 * // or as a provider of a module: { provide: APP_FILTER, useClass: StemExceptionFilter }
 * // or on one controller: @UseFilters(StemExceptionFilter)
 */
@Catch(InvalidTaskArgsError, InvalidWorkflowParamsError)
export class StemExceptionFilter implements ExceptionFilter<InvalidTaskArgsError | InvalidWorkflowParamsError> {
  /** @param adapterHost injected when the filter is a provider; `new StemExceptionFilter()` works without it */
  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  catch(error: InvalidTaskArgsError | InvalidWorkflowParamsError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const body = error instanceof InvalidWorkflowParamsError ? invalidWorkflowParamsResponseBody(error) : invalidTaskArgsResponseBody(error);
    const response = host.switchToHttp().getResponse<unknown>();
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter) {
      adapter.reply(response, body, body.statusCode);
    } else if (typeof (response as FastifyLikeResponse).code === 'function') {
      (response as FastifyLikeResponse).code(body.statusCode).send(body);
    } else {
      (response as ExpressLikeResponse).status(body.statusCode).json(body);
    }
  }
}
