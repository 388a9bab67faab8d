import { ConfigurationError } from '../errors/configuration.error.js';
import { STEM_SIGNAL_NAMES, type StemSignalMap, type StemSignalName } from './signal-map.js';
import type { StemSignalsOptions, StemSignalsSetting } from './signals.options.js';

/** A listener of signal `K`; a returned promise is awaited by nobody, but its rejection is reported. */
export type StemSignalListener<K extends StemSignalName> = (payload: StemSignalMap[K]) => unknown;

/**
 * Narrows which payloads reach a listener: a predicate, or fields that must match (a value or a
 * list of values): `task` and `queue` match the payload's envelope, `workerId` its worker.
 */
export type StemSignalFilter<K extends StemSignalName> =
  | ((payload: StemSignalMap[K]) => boolean)
  | { readonly task?: string | readonly string[]; readonly queue?: string | readonly string[]; readonly workerId?: string | readonly string[] };

/** Options of {@link StemSignals.on}. */
export interface StemSignalListenOptions<K extends StemSignalName> {
  /** Only payloads that pass it reach the listener. */
  readonly filter?: StemSignalFilter<K>;
  /** Remove the listener after the first payload that reaches it. @default false */
  readonly once?: boolean;
}

interface Registration {
  readonly listener: (payload: never) => unknown;
  readonly filter?: (payload: unknown) => boolean;
  readonly once: boolean;
}

const KNOWN: ReadonlySet<string> = new Set(STEM_SIGNAL_NAMES);

function matches(value: string | undefined, wanted: string | readonly string[] | undefined): boolean {
  if (wanted === undefined) return true;
  if (value === undefined) return false;
  return typeof wanted === 'string' ? value === wanted : wanted.includes(value);
}

function filterOf(filter: StemSignalFilter<StemSignalName> | undefined): ((payload: unknown) => boolean) | undefined {
  if (!filter) return undefined;
  if (typeof filter === 'function') return filter as (payload: unknown) => boolean;
  return (payload) => {
    const p = payload as { envelope?: { name: string; queue: string }; workerId?: string };
    return matches(p.envelope?.name, filter.task) && matches(p.envelope?.queue, filter.queue) && matches(p.workerId, filter.workerId);
  };
}

function defaultListenerError(error: unknown, signal: StemSignalName): void {
  console.warn(`Stem signal "${signal}" listener failed: ${(error as Error)?.stack ?? String(error)}`);
}

/**
 * Typed lifecycle signals (`task-failed`, `worker-ready`, `before-task-publish`, ...; see
 * {@link StemSignalMap}). One hub is shared by a producer and the workers, Beat and workflow
 * runtime built on it, so one listener sees them all. Listeners run synchronously in the order
 * they were added; one that throws (or rejects) is reported to `onListenerError` and never
 * breaks the emitter.
 *
 * @example
 * const off = stem.signals.on('task-failed', ({ envelope, error }) => alert(envelope.name, error.message), { filter: { queue: 'billing' } });
 * stem.signals.on('worker-ready', ({ workerId }) => log(workerId), { once: true });
 * off();
 */
export class StemSignals {
  private readonly listeners = new Map<StemSignalName, Registration[]>();
  /** The enabled signals with a listener: what {@link has} answers, in one lookup. */
  private readonly live = new Set<StemSignalName>();
  private readonly enabledSet: ReadonlySet<StemSignalName>;
  private readonly onListenerError: (error: unknown, signal: StemSignalName) => void;

  constructor(options: StemSignalsOptions = {}) {
    this.enabledSet = resolveEnabled(options.enabled ?? 'all');
    this.onListenerError = options.onListenerError ?? defaultListenerError;
  }

  /**
   * Reads `STEM_SIGNALS_ENABLED` and `STEM_SIGNALS_DISABLED` (comma-separated names; `all` or
   * `none` for the first).
   */
  static fromEnv(env: Readonly<Record<string, string | undefined>> = process.env, options: Omit<StemSignalsOptions, 'enabled'> = {}): StemSignals {
    const list = (value: string | undefined) =>
      (value ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean) as StemSignalName[];
    const enabled = env.STEM_SIGNALS_ENABLED?.trim();
    return new StemSignals({
      ...options,
      enabled: {
        enabled: !enabled || enabled === 'all' ? 'all' : enabled === 'none' ? [] : list(enabled),
        disabled: list(env.STEM_SIGNALS_DISABLED),
      },
    });
  }

  /** Whether `signal` is emitted at all. */
  isEnabled(signal: StemSignalName): boolean {
    return this.enabledSet.has(signal);
  }

  /**
   * Adds a listener of `signal`. Returns a function that removes it.
   * @throws ConfigurationError for a name that is not a signal
   */
  on<K extends StemSignalName>(signal: K, listener: StemSignalListener<K>, options: StemSignalListenOptions<K> = {}): () => void {
    assertKnown(signal);
    const registration: Registration = {
      listener,
      once: options.once ?? false,
      ...(options.filter ? { filter: filterOf(options.filter as StemSignalFilter<StemSignalName>) } : {}),
    };
    const list = this.listeners.get(signal);
    if (list) list.push(registration);
    else this.listeners.set(signal, [registration]);
    if (this.enabledSet.has(signal)) this.live.add(signal);
    return () => this.remove(signal, registration);
  }

  /** {@link on} with `once: true`. */
  once<K extends StemSignalName>(signal: K, listener: StemSignalListener<K>, options: Omit<StemSignalListenOptions<K>, 'once'> = {}): () => void {
    return this.on(signal, listener, { ...options, once: true });
  }

  /** Resolves with the next payload of `signal` that passes `filter`. */
  next<K extends StemSignalName>(signal: K, filter?: StemSignalFilter<K>): Promise<StemSignalMap[K]> {
    return new Promise((resolve) => this.on(signal, resolve, { once: true, ...(filter ? { filter } : {}) }));
  }

  /** Whether `signal` is enabled and anything listens to it (lets hot paths skip building payloads). */
  has(signal: StemSignalName): boolean {
    return this.live.has(signal);
  }

  /** Number of listeners of `signal`. */
  listenerCount(signal: StemSignalName): number {
    return this.listeners.get(signal)?.length ?? 0;
  }

  /** Calls the listeners of `signal` with `payload` (nothing when the signal is disabled). Never throws. */
  emit<K extends StemSignalName>(signal: K, payload: StemSignalMap[K]): void {
    if (!this.live.has(signal)) return;
    const list = this.listeners.get(signal)!;
    // NOTE: the listeners of this moment, though one may add or remove listeners meanwhile; a
    // single listener (the usual case) needs no copy of the list for that.
    if (list.length === 1) return this.call(signal, list[0]!, payload);
    for (const registration of [...list]) this.call(signal, registration, payload);
  }

  /** Calls one listener; what it throws or rejects with is reported. */
  private call<K extends StemSignalName>(signal: K, registration: Registration, payload: StemSignalMap[K]): void {
    try {
      if (registration.filter && !registration.filter(payload)) return;
      if (registration.once) this.remove(signal, registration);
      const result = (registration.listener as (p: StemSignalMap[K]) => unknown)(payload);
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
        Promise.resolve(result).catch((error: unknown) => this.report(error, signal));
      }
    } catch (error) {
      this.report(error, signal);
    }
  }

  private report(error: unknown, signal: StemSignalName): void {
    try {
      this.onListenerError(error, signal);
    } catch {
      // NOTE: a failing error reporter must not break the emitter either.
    }
  }

  private remove(signal: StemSignalName, registration: Registration): void {
    const list = this.listeners.get(signal);
    const index = list?.indexOf(registration) ?? -1;
    if (index >= 0) list!.splice(index, 1);
    if (list?.length === 0) this.live.delete(signal);
  }
}

function assertKnown(signal: string): void {
  if (!KNOWN.has(signal)) throw new ConfigurationError('signals', `"${signal}" is not a Stem signal; use one of ${STEM_SIGNAL_NAMES.join(', ')}`);
}

function resolveEnabled(setting: StemSignalsSetting): ReadonlySet<StemSignalName> {
  if (setting === true || setting === 'all') return new Set(STEM_SIGNAL_NAMES);
  if (setting === false) return new Set();
  const { enabled, disabled } = Array.isArray(setting)
    ? { enabled: setting as readonly StemSignalName[], disabled: [] as readonly StemSignalName[] }
    : (setting as { enabled?: 'all' | readonly StemSignalName[]; disabled?: readonly StemSignalName[] });
  const base = enabled === undefined || enabled === 'all' ? [...STEM_SIGNAL_NAMES] : enabled;
  for (const name of [...base, ...(disabled ?? [])]) assertKnown(name);
  const off = new Set(disabled ?? []);
  return new Set(base.filter((name) => !off.has(name)));
}
