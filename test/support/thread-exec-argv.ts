import { fileURLToPath } from 'node:url';

/** `execArgv` for pool threads that run the TypeScript sources (through the SWC loader of register-ts.mjs). */
export const TS_THREAD_EXEC_ARGV: readonly string[] = ['--import', fileURLToPath(new URL('./register-ts.mjs', import.meta.url))];
