export { runCli, CLI_USAGE } from './run-cli.js';
export type { CliIo } from './cli-context.js';
