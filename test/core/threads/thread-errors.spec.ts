import { describe, expect, it } from 'vitest';
import { isRetryableError, remoteErrorChain, reviveError, serializeError, TaskRetryRequest, UnrecoverableError } from '../../../lib/core/index.js';

class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
class NotFoundError extends HttpError {
  override name = 'NotFound';
}

describe('errors across a thread boundary', () => {
  it('keep name, message, stack, own fields and the class chain', () => {
    const original = new NotFoundError('no such user', 404);
    const revived = reviveError(structuredClone(serializeError(original)));
    expect(revived).toBeInstanceOf(Error);
    expect(revived).not.toBeInstanceOf(HttpError);
    expect(revived).toMatchObject({ name: 'NotFound', message: 'no such user', status: 404 });
    expect(revived.stack).toBe(original.stack);
    expect(revived.constructor.name).toBe('NotFoundError');
    expect(remoteErrorChain(revived)).toEqual(['NotFoundError', 'HttpError', 'Error']);
  });

  it('get the class name as their name when the class left it at Error', () => {
    const revived = reviveError(serializeError(new HttpError('down', 503)));
    expect(revived.name).toBe('HttpError');
  });

  it('match retry filters by class and by name as the original does', () => {
    const revived = reviveError(serializeError(new NotFoundError('gone', 404)));
    expect(isRetryableError({ autoRetryFor: [HttpError] }, revived)).toBe(true);
    expect(isRetryableError({ autoRetryFor: ['HttpError'] }, revived)).toBe(true);
    expect(isRetryableError({ autoRetryFor: ['NotFound'] }, revived)).toBe(true);
    expect(isRetryableError({ dontAutoRetryFor: [NotFoundError] }, revived)).toBe(false);
    expect(isRetryableError({ autoRetryFor: [TypeError] }, revived)).toBe(false);
  });

  it('keep built-in error classes', () => {
    const revived = reviveError(serializeError(new TypeError('bad')));
    expect(revived).toBeInstanceOf(TypeError);
    expect(revived.name).toBe('TypeError');
  });

  it('bring back ctx.retry() and UnrecoverableError as their classes', () => {
    const retry = reviveError(serializeError(new TaskRetryRequest(250, 'later')));
    expect(retry).toBeInstanceOf(TaskRetryRequest);
    expect(retry).toMatchObject({ countdown: 250, reason: 'later' });
    expect(reviveError(serializeError(new UnrecoverableError('stop')))).toBeInstanceOf(UnrecoverableError);
  });

  it('drop fields that cannot be cloned and turn thrown non-errors into errors', () => {
    const error = Object.assign(new Error('with a callback'), { retry: () => 1, code: 'E1' });
    const serialized = serializeError(error);
    expect(serialized.fields).toEqual({ code: 'E1' });
    expect(() => structuredClone(serialized)).not.toThrow();
    expect(reviveError(serializeError('plain string'))).toMatchObject({ name: 'Error', message: 'plain string' });
  });
});
