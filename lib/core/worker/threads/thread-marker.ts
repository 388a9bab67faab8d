import { isMainThread, workerData } from 'node:worker_threads';

/**
 * Whether this code runs in a Stem pool thread. The Nest layer checks it to boot an app's
 * context without its worker and Beat.
 */
export function isStemThread(): boolean {
  return !isMainThread && (workerData as { stemThread?: unknown } | null)?.stemThread === true;
}
