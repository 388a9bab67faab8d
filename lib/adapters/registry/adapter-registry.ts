import { ConfigurationError } from '../../core/errors/configuration.error.js';
import { redactUrl } from '../../core/utils/redact-url.js';
import { AdapterDriverMissingError } from './adapter-driver-missing.error.js';
import type { AdapterLoader, AdapterSet } from './adapter-set.js';

/** Options of {@link AdapterRegistry.register}. */
export interface RegisterAdapterOptions {
  /** Replace a loader already registered for the scheme instead of failing. @default false */
  readonly replace?: boolean;
}

interface Registration {
  readonly loader: AdapterLoader;
  loaded?: Promise<AdapterSet>;
}

const SCHEME = /^[a-z][a-z0-9+.-]*$/;

/**
 * URL scheme → the stores behind it. `createStemAdapters` looks every URL up here, so a new
 * backing store (RabbitMQ, SQS, ...) is a folder with an {@link AdapterSet} and one
 * {@link registerAdapter} call; nothing else changes.
 */
export class AdapterRegistry {
  private readonly registrations = new Map<string, Registration>();

  /**
   * Registers the loader of one or more schemes (`'redis'`, or `['postgres', 'postgresql']`).
   * The loader runs once, when a URL of the scheme is first used.
   *
   * @throws ConfigurationError for a malformed scheme, or one already registered (unless `replace`)
   */
  register(scheme: string | readonly string[], loader: AdapterLoader, options: RegisterAdapterOptions = {}): void {
    const schemes = (typeof scheme === 'string' ? [scheme] : [...scheme]).map(normalizeScheme);
    for (const s of schemes) {
      if (!options.replace && this.registrations.has(s)) {
        throw new ConfigurationError('scheme', `an adapter is already registered for "${s}://"; pass { replace: true } to registerAdapter() to replace it`);
      }
    }
    // NOTE: aliases share one registration, so `redis://` and `rediss://` load their set once.
    const registration: Registration = { loader };
    for (const s of schemes) this.registrations.set(s, registration);
  }

  /** Removes a scheme's loader; returns whether it was registered. */
  unregister(scheme: string): boolean {
    return this.registrations.delete(normalizeScheme(scheme));
  }

  /** Whether a loader is registered for `scheme` (without `:` or `://`). */
  has(scheme: string): boolean {
    return this.registrations.has(scheme.replace(/:(\/\/)?$/, '').toLowerCase());
  }

  /** Registered schemes in registration order. */
  schemes(): string[] {
    return [...this.registrations.keys()];
  }

  /**
   * The stores behind `url`'s scheme, loading them on first use.
   *
   * @param option the option the URL came from, for error messages (`'broker'`, `'backend'`, ...)
   * @throws ConfigurationError when `url` is not a URL, its scheme is not registered, or the
   *   scheme's driver package is not installed
   */
  async resolve(option: string, url: string): Promise<AdapterSet> {
    const scheme = this.schemeOf(option, url);
    const registration = this.registrations.get(scheme);
    if (!registration) {
      const known = this.registrations.size > 0 ? `use one of ${this.listed()}, or register` : 'no scheme is registered; register';
      throw new ConfigurationError(option, `unsupported scheme "${scheme}:" in "${redactUrl(url)}"; ${known} an adapter for "${scheme}" with registerAdapter()`);
    }
    const loading = (registration.loaded ??= registration.loader());
    try {
      return await loading;
    } catch (error) {
      // NOTE: forget a failed load, so installing the driver and retrying works without a restart.
      if (registration.loaded === loading) delete registration.loaded;
      if (error instanceof AdapterDriverMissingError) {
        throw new ConfigurationError(option, `${scheme}:// URLs need the "${error.driver}" package; install it with: npm install ${error.driver}`);
      }
      throw error;
    }
  }

  private schemeOf(option: string, url: string): string {
    const match = /^([a-z][a-z0-9+.-]*):/i.exec(url);
    if (!match) throw new ConfigurationError(option, `"${redactUrl(url)}" is not a URL; use a URL with one of the schemes ${this.listed() || '(none registered)'}`);
    return match[1]!.toLowerCase();
  }

  private listed(): string {
    return this.schemes()
      .map((s) => `${s}://`)
      .join(', ');
  }
}

function normalizeScheme(scheme: string): string {
  const s = scheme.replace(/:(\/\/)?$/, '').toLowerCase();
  if (!SCHEME.test(s)) throw new ConfigurationError('scheme', `"${scheme}" is not a URL scheme; use letters, digits, "+", "-" or ".", starting with a letter (e.g. "amqp")`);
  return s;
}

/** The registry `createStemAdapters` uses by default; the memory, Redis and Postgres stores are in it. */
export const adapterRegistry = new AdapterRegistry();

/**
 * Registers a backing store under a URL scheme in the default registry, so `createStemAdapters`
 * and `StemModule.forRoot({ broker: 'amqp://...' })` can use it.
 *
 * @example
 * registerAdapter('amqp', async () => {
 *   const { AmqpBroker } = await import('./amqp.broker.js');
 *   return { broker: (url) => AmqpBroker.connect(url) };
 * });
 */
export function registerAdapter(scheme: string | readonly string[], loader: AdapterLoader, options?: RegisterAdapterOptions): void {
  adapterRegistry.register(scheme, loader, options);
}

/** Schemes of the default registry (`['memory', 'redis', 'rediss', 'postgres', 'postgresql', ...]`). */
export function registeredSchemes(): string[] {
  return adapterRegistry.schemes();
}
