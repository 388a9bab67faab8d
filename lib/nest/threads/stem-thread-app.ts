import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { TaskArgsValidator } from '../../core/args-validator.js';
import { ConfigurationError } from '../../core/errors/configuration.error.js';
import type { TaskRegistry } from '../../core/task-handler.js';
import type { ThreadHandlerLookup } from '../../core/worker/threads/thread-protocol.js';
import { STEM_ARGS_VALIDATOR } from '../stem-validation.provider.js';
import { STEM_TASK_REGISTRY } from '../stem.constants.js';

/** What a pool thread boots: the module file and, when it exports several modules, the export. */
export interface StemThreadModuleRef {
  readonly file: string;
  readonly export?: string;
}

function importsStem(candidate: unknown): boolean {
  if (typeof candidate !== 'function') return false;
  const imports = (Reflect.getMetadata('imports', candidate) as unknown[] | undefined) ?? [];
  return imports.some((entry) => typeof entry === 'object' && entry !== null && (entry as DynamicModule).module?.name === 'StemModule');
}

/** The module class to boot: the named export, else the one export whose `imports` hold `StemModule.forRoot()`. */
function moduleOf(exports: Record<string, unknown>, ref: StemThreadModuleRef): Type {
  if (ref.export) {
    const named = exports[ref.export];
    if (typeof named !== 'function') throw new ConfigurationError('worker.threads.module', `${ref.file} has no class export "${ref.export}"`);
    return named as Type;
  }
  const candidates = Object.values(exports).filter(importsStem);
  if (candidates.length !== 1) {
    throw new ConfigurationError(
      'worker.threads.module',
      `${ref.file} exports ${candidates.length} modules importing StemModule; name the module threads boot with worker.threads.module: { file, export }`,
    );
  }
  return candidates[0] as Type;
}

/**
 * Boots the worker's Nest application context in a pool thread (a thread target of kind
 * `factory`): imports the module file, creates an application context (no HTTP server; the
 * worker and Beat hosts stay idle in a thread) and returns the `@Task()` handlers found in it,
 * which validate their args into DTO instances and run on the thread's own provider instances.
 */
export async function bootStemThreadApp(ref: StemThreadModuleRef): Promise<ThreadHandlerLookup> {
  const url = isAbsolute(ref.file) ? pathToFileURL(ref.file).href : ref.file;
  const moduleClass = moduleOf((await import(url)) as Record<string, unknown>, ref);
  const app = await NestFactory.createApplicationContext(moduleClass, { logger: ['error', 'warn'], abortOnError: false });
  const registry = app.get<TaskRegistry>(STEM_TASK_REGISTRY, { strict: false });
  const validator = app.get<TaskArgsValidator | null>(STEM_ARGS_VALIDATOR, { strict: false });
  return (name) => {
    const handler = registry.get(name);
    if (!handler) return undefined;
    return (ctx, args) => handler.call(ctx, validator ? validator.validate(handler, args) : args);
  };
}
