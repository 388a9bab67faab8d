import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Injection token of the file that called `StemModule.forRoot()`/`forRootAsync()` (`null` when unknown). */
export const STEM_MODULE_SOURCE = Symbol.for('stem:module-source');

const NEST_LAYER_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

function pathOf(fileName: string | null | undefined): string | undefined {
  if (!fileName) return undefined;
  if (fileName.startsWith('file://')) return fileURLToPath(fileName);
  return fileName.startsWith('/') || /^[A-Za-z]:[\\/]/.test(fileName) ? fileName : undefined;
}

/**
 * The file of the code that called into the Nest layer: the first stack frame outside it and
 * outside `@nestjs/*`. Read from V8's call sites, so it names the file that runs (the compiled
 * `.js`), not a source-mapped `.ts`.
 */
export function callerFile(): string | undefined {
  const original = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 20;
    Error.prepareStackTrace = (_error, sites) => sites;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, callerFile);
    for (const site of holder.stack ?? []) {
      const file = pathOf(site.getFileName());
      if (!file || file.startsWith(NEST_LAYER_DIR) || /[\\/]node_modules[\\/]@nestjs[\\/]/.test(file)) continue;
      return file;
    }
    return undefined;
  } finally {
    Error.prepareStackTrace = original;
    Error.stackTraceLimit = limit;
  }
}
