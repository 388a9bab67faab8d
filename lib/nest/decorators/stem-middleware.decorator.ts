import { SetMetadata } from '@nestjs/common';
import type { StemMiddleware as CoreStemMiddleware } from '../../core/middleware/stem-middleware.js';
import { STEM_MIDDLEWARE_METADATA } from '../stem.constants.js';

/** Options of {@link StemMiddleware}. */
export interface StemMiddlewareOptions {
  /**
   * Position among the discovered middleware: lower runs first (outermost); equal ones keep the
   * order Nest registered their providers in. Middleware listed in the module's `middleware`
   * option come before every discovered one. @default 0
   */
  readonly order?: number;
}

/** Hooks around enqueue and execution (`onEnqueue`, `onConsume`, `onExecute`, `onError`); see the core `StemMiddleware`. */
export type StemMiddleware = CoreStemMiddleware;

/**
 * Marks a provider as Stem middleware: it is found at bootstrap (like `@Task()`), with its
 * dependencies injected, and wraps every enqueue of the module's producer and every task its
 * worker runs. Listing a class in the module's `middleware` option does the same without the
 * decorator.
 *
 * @example
 * @StemMiddleware()
 * @Injectable()
 * export class RequestIdMiddleware implements StemMiddleware {
 *   constructor(private readonly cls: RequestContext) {}
 *   async onEnqueue(draft: EnqueueDraft, next: () => Promise<string>) {
 *     draft.headers['x-request-id'] = this.cls.requestId;
 *     return next();
 *   }
 * }
 */
export function StemMiddleware(options: StemMiddlewareOptions = {}): ClassDecorator {
  return SetMetadata(STEM_MIDDLEWARE_METADATA, options);
}
