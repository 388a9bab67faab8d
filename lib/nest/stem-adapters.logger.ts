import { Logger } from '@nestjs/common';
import type { AdapterLogger } from '../adapters/registry/index.js';

/**
 * Routes the stores' log lines (Postgres migrations, swallowed pool errors) through Nest's
 * logger, so they follow the app's logger settings instead of going to the console.
 */
export function nestAdapterLogger(logger: Logger = new Logger('Stem')): AdapterLogger {
  return {
    info: (message) => logger.log(message),
    warn: (message, error) => logger.warn(error instanceof Error ? `${message}: ${error.message}` : message),
  };
}
