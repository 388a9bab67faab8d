import { InMemoryBroker } from './memory/in-memory.broker.js';
import { InMemoryGroupStore } from './memory/in-memory.group-store.js';
import { InMemoryLockStore } from './memory/in-memory.lock-store.js';
import { InMemoryRateLimiter } from './memory/in-memory.rate-limiter.js';
import { InMemoryResultBackend } from './memory/in-memory.result-backend.js';
import { InMemoryScheduleStore } from './memory/in-memory.schedule-store.js';
import type { GroupStore } from '../core/canvas/group-store.js';
import type { Broker } from '../core/contracts/broker.js';
import type { LockStore } from '../core/contracts/lock-store.js';
import type { RateLimiter } from '../core/contracts/rate-limiter.js';
import type { ResultBackend } from '../core/contracts/result-backend.js';
import type { ScheduleStore } from '../core/contracts/schedule-store.js';
import { ConfigurationError } from '../core/errors/configuration.error.js';
import { redactUrl } from '../core/utils/redact-url.js';
import type { StemModuleOptions } from '../nest/interfaces/stem-module-options.interface.js';
import { DEFAULT_BROKER_URL } from '../nest/stem.constants.js';

/** The stores a Stem module runs on, and how to release the ones it created. */
export interface StemAdapters {
  readonly broker: Broker;
  readonly backend: ResultBackend | null;
  readonly lockStore: LockStore;
  readonly rateLimiter: RateLimiter;
  /** Where Beat keeps schedule entries; `null` when the store has no schedule store. */
  readonly scheduleStore: ScheduleStore | null;
  /** Where canvas keeps group and chord state. */
  readonly groupStore: GroupStore;
  /** Closes every adapter the factory created (not the instances passed in). */
  close(): Promise<void>;
}

/** Adapter type by option name. */
interface AdapterKinds {
  broker: Broker;
  backend: ResultBackend;
  lockStore: LockStore;
  rateLimiter: RateLimiter;
  scheduleStore: ScheduleStore;
  groupStore: GroupStore;
}

/** Connects one kind of store from a URL; one loader per URL scheme family. */
interface AdapterLoader {
  broker(url: string): Promise<Broker>;
  backend(url: string): Promise<ResultBackend>;
  lockStore(url: string): Promise<LockStore>;
  rateLimiter(url: string): Promise<RateLimiter>;
  /** Absent for stores without a schedule store. */
  scheduleStore?(url: string): Promise<ScheduleStore>;
  groupStore(url: string): Promise<GroupStore>;
}


function schemeOf(option: string, url: string): string {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  if (!match) {
    throw new ConfigurationError(option, `"${redactUrl(url)}" is not a URL; use memory://, redis://host:6379, rediss://..., postgres://user@host/db`);
  }
  return match[1]!.toLowerCase();
}

/**
 * Creates the adapters named by the module options. Stores left unset use the broker's URL, so
 * `broker: 'redis://...'` alone puts statuses, locks and rate limits on the same Redis.
 */
export async function createStemAdapters(options: StemModuleOptions, loaders: Record<string, () => Promise<AdapterLoader>> = urlLoaders): Promise<StemAdapters> {
  const created: { close(): Promise<void> }[] = [];
  const brokerOption = options.broker ?? DEFAULT_BROKER_URL;
  const brokerUrl = typeof brokerOption === 'string' ? brokerOption : undefined;

  const loaderFor = async (option: string, url: string): Promise<AdapterLoader> => {
    const scheme = schemeOf(option, url);
    const load = loaders[scheme];
    if (!load) {
      throw new ConfigurationError(option, `unsupported scheme "${scheme}:" in "${redactUrl(url)}"; use one of ${Object.keys(loaders).map((s) => `${s}://`).join(', ')}`);
    }
    return load();
  };
  const fromUrl = async <K extends keyof AdapterKinds>(kind: K, url: string): Promise<AdapterKinds[K]> => {
    const connect = (await loaderFor(kind, url))[kind] as ((url: string) => Promise<AdapterKinds[K]>) | undefined;
    if (!connect) throw new ConfigurationError(kind, `"${redactUrl(url)}" has no ${kind} yet; use memory:// for it, or pass an instance`);
    const adapter = await connect(url);
    created.push(adapter);
    return adapter;
  };

  try {
    const broker = typeof brokerOption === 'string' ? await fromUrl('broker', brokerOption) : brokerOption;
    const sameStore = (option: 'backend' | 'lockStore' | 'rateLimiter' | 'scheduleStore' | 'groupStore') => {
      const value = options[option];
      if (typeof value === 'string') return value;
      if (value === undefined && brokerUrl) return brokerUrl;
      return value === undefined ? DEFAULT_BROKER_URL : undefined;
    };
    const backendUrl = options.backend === false ? undefined : sameStore('backend');
    const backend = options.backend === false ? null : backendUrl ? await fromUrl('backend', backendUrl) : (options.backend as ResultBackend);
    const lockUrl = sameStore('lockStore');
    const lockStore = lockUrl ? await fromUrl('lockStore', lockUrl) : (options.lockStore as LockStore);
    const limiterUrl = sameStore('rateLimiter');
    const rateLimiter = limiterUrl ? await fromUrl('rateLimiter', limiterUrl) : (options.rateLimiter as RateLimiter);
    const scheduleUrl = sameStore('scheduleStore');
    // NOTE: a store without a schedule store is fine until Beat or an explicit scheduleStore needs one.
    const wantsSchedules = Boolean(options.beat || options.scheduleStore);
    const scheduleStore = !scheduleUrl
      ? (options.scheduleStore as ScheduleStore)
      : wantsSchedules || (await loaderFor('scheduleStore', scheduleUrl)).scheduleStore
        ? await fromUrl('scheduleStore', scheduleUrl)
        : null;
    const groupUrl = sameStore('groupStore');
    const groupStore = groupUrl ? await fromUrl('groupStore', groupUrl) : (options.groupStore as GroupStore);
    let closing: Promise<void> | undefined;
    return {
      broker,
      backend,
      lockStore,
      rateLimiter,
      scheduleStore,
      groupStore,
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

const memoryLoader: AdapterLoader = {
  broker: async () => new InMemoryBroker(),
  backend: async () => new InMemoryResultBackend(),
  lockStore: async () => new InMemoryLockStore(),
  rateLimiter: async () => new InMemoryRateLimiter(),
  scheduleStore: async () => new InMemoryScheduleStore(),
  groupStore: async () => new InMemoryGroupStore(),
};

/** Imports an optional adapter, turning a missing driver into an error that says what to install. */
async function importAdapter<T>(scheme: string, driver: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${driver}'`)) {
      throw new ConfigurationError('broker', `${scheme}:// URLs need the "${driver}" package; install it with: npm install ${driver}`);
    }
    throw error;
  }
}

/**
 * Splits adapter settings carried in the URL's query from the connection URL:
 * `postgres://host/db?schema=jobs`, `redis://host:6379?prefix=app1`.
 */
export function splitUrlOptions(url: string, keys: readonly string[]): { url: string; options: Record<string, string> } {
  const parsed = new URL(url);
  const options: Record<string, string> = {};
  for (const key of keys) {
    const value = parsed.searchParams.get(key);
    if (value !== null) {
      options[key] = value;
      parsed.searchParams.delete(key);
    }
  }
  return { url: parsed.toString(), options };
}

const redisLoader = async (): Promise<AdapterLoader> => {
  const redis = await importAdapter('redis', 'ioredis', () => import('./redis/index.js'));
  const { RedisScheduleStore } = await import('./redis/redis.schedule-store.js');
  const { RedisGroupStore } = await import('./redis/redis.group-store.js');
  const at = (url: string) => splitUrlOptions(url, ['prefix']);
  return {
    broker: (url) => redis.RedisStreamsBroker.connect(at(url).url, at(url).options),
    backend: (url) => redis.RedisResultBackend.connect(at(url).url, at(url).options),
    lockStore: (url) => redis.RedisLockStore.connect(at(url).url, at(url).options),
    rateLimiter: (url) => redis.RedisRateLimiter.connect(at(url).url, at(url).options),
    scheduleStore: (url) => RedisScheduleStore.connect(at(url).url, at(url).options),
    groupStore: (url) => RedisGroupStore.connect(at(url).url, at(url).options),
  };
};

const postgresLoader = async (): Promise<AdapterLoader> => {
  const pg = await importAdapter('postgres', 'pg', () => import('./postgres/index.js'));
  const { PostgresScheduleStore } = await import('./postgres/postgres.schedule-store.js');
  const { PostgresGroupStore } = await import('./postgres/postgres.group-store.js');
  const at = (url: string) => splitUrlOptions(url, ['schema']);
  return {
    broker: (url) => pg.PostgresBroker.connect(at(url).url, at(url).options),
    backend: (url) => pg.PostgresResultBackend.connect(at(url).url, at(url).options),
    lockStore: (url) => pg.PostgresLockStore.connect(at(url).url, at(url).options),
    rateLimiter: (url) => pg.PostgresRateLimiter.connect(at(url).url, at(url).options),
    scheduleStore: (url) => PostgresScheduleStore.connect(at(url).url, at(url).options),
    groupStore: (url) => PostgresGroupStore.connect(at(url).url, at(url).options),
  };
};

/** URL scheme → adapter loader. Redis and Postgres load lazily so their drivers stay optional. */
const urlLoaders: Record<string, () => Promise<AdapterLoader>> = {
  memory: async () => memoryLoader,
  redis: redisLoader,
  rediss: redisLoader,
  postgres: postgresLoader,
  postgresql: postgresLoader,
};
