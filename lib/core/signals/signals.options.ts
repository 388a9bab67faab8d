import type { StemSignalName } from './signal-map.js';

/**
 * Which signals are emitted. `'all'` (the default) or `true`: every one; `false`: none; a list:
 * only those; `{ enabled, disabled }`: `enabled` (default all) minus `disabled`. A disabled
 * signal costs nothing and its listeners are never called; metrics and logs listen to signals
 * too, so disabling one silences them for it.
 *
 * @example
 * signals: { disabled: ['task-progress', 'task-lease-renewed'] }
 */
export type StemSignalsSetting =
  boolean | 'all' | readonly StemSignalName[] | { readonly enabled?: 'all' | readonly StemSignalName[]; readonly disabled?: readonly StemSignalName[] };

/** Options of a {@link StemSignals} hub. */
export interface StemSignalsOptions {
  /** Which signals are emitted. @default 'all' */
  readonly enabled?: StemSignalsSetting;
  /**
   * Told about every listener that throws (or whose promise rejects); the signal goes on to the
   * next listener. @default logs a warning on `console`
   */
  readonly onListenerError?: (error: unknown, signal: StemSignalName) => void;
}
