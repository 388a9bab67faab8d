import '@swc/core';
import { fileURLToPath } from 'node:url';

// Pool threads in tests run the TypeScript sources through the SWC loader of register-ts.mjs.
// Each thread's loader loads @swc/core's native addon; importing it here as well keeps the addon
// loaded in the test process, since loading it again after the last thread using it was
// terminated crashes Node 20.

/** `execArgv` for pool threads that run TypeScript sources. */
export const TS_THREAD_EXEC_ARGV: readonly string[] = ['--import', fileURLToPath(new URL('./register-ts.mjs', import.meta.url))];
