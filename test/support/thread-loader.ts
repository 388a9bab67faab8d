import '@swc/core';

// Each pool thread's loader loads @swc/core's native addon; importing it in the test process as
// well keeps the addon loaded, since loading it again after the last thread using it was
// terminated crashes Node 20. Specs that start pool threads import their execArgv from here.

export { TS_THREAD_EXEC_ARGV } from './thread-exec-argv.js';
