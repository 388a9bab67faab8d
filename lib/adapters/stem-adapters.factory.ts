import type { GroupStore } from '../core/canvas/group-store.js';
import type { Broker } from '../core/contracts/broker.js';
import type { ControlStore } from '../core/contracts/control-store.js';
import type { LockStore } from '../core/contracts/lock-store.js';
import type { RateLimiter } from '../core/contracts/rate-limiter.js';
import type { ResultBackend } from '../core/contracts/result-backend.js';
import type { ScheduleStore } from '../core/contracts/schedule-store.js';
import type { WorkflowStore } from '../core/workflow/workflow-store.js';
import { ConfigurationError } from '../core/errors/configuration.error.js';
import { redactUrl } from '../core/utils/redact-url.js';
import { type AdapterRegistry, adapterRegistry, type AdapterKind, type AdapterKinds, type AdapterLogger } from './registry/index.js';
import type { StemTlsOptions } from './tls/stem-tls.options.js';
import { resolveTlsOptions } from './tls/tls-env.js';

/** The URL used when no broker is given: the in-process store. */
export const DEFAULT_ADAPTER_URL = 'memory://';

/** The stores a Stem app runs on, and how to release the ones the factory created. */
export interface StemAdapters {
  readonly broker: Broker;
  readonly backend: ResultBackend | null;
  readonly lockStore: LockStore;
  readonly rateLimiter: RateLimiter;
  /** Where Beat keeps schedule entries; `null` when the store has no schedule store. */
  readonly scheduleStore: ScheduleStore | null;
  /** Where canvas keeps group and chord state. */
  readonly groupStore: GroupStore;
  /** Revocations, paused queues and worker heartbeats; `null` when the store has none. */
  readonly revokeStore: ControlStore | null;
  /** Where workflow runs are kept; `null` when workflows are off or the store has no workflow store. */
  readonly workflowStore: WorkflowStore | null;
  /** Closes every adapter the factory created (not the instances passed in). */
  close(): Promise<void>;
}

/**
 * Which stores to use: a URL (its scheme picks the adapter from the registry) or an instance
 * for each. `StemModule.forRoot()` options are accepted as they are.
 */
export interface StemAdaptersOptions {
  /** Broker URL or instance. @default 'memory://' */
  readonly broker?: string | Broker;
  /** Result backend URL or instance; `false` for none. @default the broker's store */
  readonly backend?: string | ResultBackend | false;
  /** @default the broker's store */
  readonly lockStore?: string | LockStore;
  /** @default the broker's store */
  readonly rateLimiter?: string | RateLimiter;
  /** @default the broker's store when it has one, else none */
  readonly scheduleStore?: string | ScheduleStore;
  /** @default the broker's store */
  readonly groupStore?: string | GroupStore;
  /** Where revocations, paused queues and heartbeats are kept. @default the backend's store, else the broker's */
  readonly revokeStore?: string | ControlStore;
  /** Workflow store URL or instance; `false` for none. @default the broker's store when it has one, else none */
  readonly workflowStore?: string | WorkflowStore | false;
  /** Truthy when Beat runs in this process: a schedule store is then required. */
  readonly beat?: unknown;
  /** Where the created stores log (migrations, reconnects). @default each store's default (the console) */
  readonly logger?: AdapterLogger;
  /**
   * CA, client certificate and key (PEM file paths, PEM text or bytes) for the stores' TLS
   * connections: `rediss://` URLs, and Postgres URLs with `?sslmode=require|verify-ca|verify-full`.
   * Each setting given here wins over its `STEM_TLS_*` environment variable; `false` ignores them.
   * @default from `STEM_TLS_CA_CERT`, `STEM_TLS_CLIENT_CERT`, `STEM_TLS_CLIENT_KEY`, `STEM_TLS_ALLOW_INSECURE`
   */
  readonly tls?: StemTlsOptions | false;
  /** Where the `STEM_TLS_*` variables are read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

type SameStoreOption = 'backend' | 'lockStore' | 'rateLimiter' | 'scheduleStore' | 'groupStore' | 'workflowStore';

/**
 * Creates the adapters named by the options. Stores left unset use the broker's URL, so
 * `broker: 'redis://...'` alone puts statuses, locks and rate limits on the same Redis. URL
 * settings (`?prefix=`, `?schema=`, `?sslmode=`) are read by each store's own `connect`; the TLS
 * settings (the `tls` option over the `STEM_TLS_*` environment variables) are read here, once.
 *
 * @param registry where URL schemes are looked up @default the default registry
 * @throws ConfigurationError naming the option for a malformed URL, an unregistered scheme, a
 *   missing driver, or a store that lacks the kind asked for; naming the `STEM_TLS_*` variable
 *   whose file cannot be read
 * @example
 * const adapters = await createStemAdapters({ broker: 'redis://127.0.0.1:6379?prefix=app1' });
 */
export async function createStemAdapters(options: StemAdaptersOptions, registry: AdapterRegistry = adapterRegistry): Promise<StemAdapters> {
  const created: { close(): Promise<void> }[] = [];
  const brokerOption = options.broker ?? DEFAULT_ADAPTER_URL;
  const brokerUrl = typeof brokerOption === 'string' ? brokerOption : undefined;
  const tls = resolveTlsOptions(options.tls, options.env ?? process.env);
  const context = { ...(options.logger ? { logger: options.logger } : {}), ...(tls ? { tls } : {}) };

  const fromUrl = async <K extends AdapterKind>(kind: K, url: string): Promise<AdapterKinds[K]> => {
    const connect = (await registry.resolve(kind, url))[kind];
    if (!connect)
      throw new ConfigurationError(kind, `"${redactUrl(url)}" has no ${kind}; give "${kind}" a URL of a store that has one (memory://, redis://, postgres://) or pass an instance`);
    const adapter = await connect(url, context);
    created.push(adapter);
    return adapter;
  };
  /** The URL an option resolves to, or `undefined` when it is an instance. */
  const urlOf = (option: SameStoreOption): string | undefined => {
    const value = options[option];
    if (typeof value === 'string') return value;
    if (value === undefined) return brokerUrl ?? DEFAULT_ADAPTER_URL;
    return undefined;
  };

  /** A store that may be missing: `null` when off, or when the broker's store has none and none was named. */
  const optionalStore = async <K extends 'workflowStore'>(kind: K, value: string | AdapterKinds[K] | false | undefined): Promise<AdapterKinds[K] | null> => {
    if (value === false) return null;
    if (typeof value === 'object') return value;
    const url = urlOf(kind)!;
    if (value === undefined && !(await registry.resolve(kind, url))[kind]) return null;
    return fromUrl(kind, url);
  };

  try {
    const broker = typeof brokerOption === 'string' ? await fromUrl('broker', brokerOption) : brokerOption;
    const backendUrl = options.backend === false ? undefined : urlOf('backend');
    const backend = options.backend === false ? null : backendUrl ? await fromUrl('backend', backendUrl) : (options.backend as ResultBackend);
    const lockUrl = urlOf('lockStore');
    const lockStore = lockUrl ? await fromUrl('lockStore', lockUrl) : (options.lockStore as LockStore);
    const limiterUrl = urlOf('rateLimiter');
    const rateLimiter = limiterUrl ? await fromUrl('rateLimiter', limiterUrl) : (options.rateLimiter as RateLimiter);
    const scheduleUrl = urlOf('scheduleStore');
    // NOTE: a store without a schedule store is fine until Beat or an explicit scheduleStore needs one.
    const wantsSchedules = Boolean(options.beat || options.scheduleStore);
    const scheduleStore = !scheduleUrl
      ? (options.scheduleStore as ScheduleStore)
      : wantsSchedules || (await registry.resolve('scheduleStore', scheduleUrl)).scheduleStore
        ? await fromUrl('scheduleStore', scheduleUrl)
        : null;
    const groupUrl = urlOf('groupStore');
    const groupStore = groupUrl ? await fromUrl('groupStore', groupUrl) : (options.groupStore as GroupStore);
    const revokeUrl =
      typeof options.revokeStore === 'string'
        ? options.revokeStore
        : options.revokeStore
          ? undefined
          : ((typeof options.backend === 'string' ? options.backend : undefined) ?? brokerUrl ?? DEFAULT_ADAPTER_URL);
    const revokeStore = !revokeUrl
      ? ((options.revokeStore as ControlStore | undefined) ?? null)
      : typeof options.revokeStore === 'string' || (await registry.resolve('revokeStore', revokeUrl)).revokeStore
        ? await fromUrl('revokeStore', revokeUrl)
        : null;
    const workflowStore = await optionalStore('workflowStore', options.workflowStore);
    let closing: Promise<void> | undefined;
    return {
      revokeStore,
      broker,
      backend,
      lockStore,
      rateLimiter,
      scheduleStore,
      groupStore,
      workflowStore,
      close: () => (closing ??= closeAll(created)),
    };
  } catch (error) {
    await closeAll(created);
    throw error;
  }
}

async function closeAll(adapters: readonly { close(): Promise<void> }[]): Promise<void> {
  const errors: unknown[] = [];
  for (const adapter of [...adapters].reverse()) {
    try {
      await adapter.close();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'Several Stem adapters failed to close');
}
