import type { GroupStore } from '../../core/canvas/group-store.js';
import type { Broker } from '../../core/contracts/broker.js';
import type { ControlStore } from '../../core/contracts/control-store.js';
import type { LockStore } from '../../core/contracts/lock-store.js';
import type { RateLimiter } from '../../core/contracts/rate-limiter.js';
import type { ResultBackend } from '../../core/contracts/result-backend.js';
import type { ScheduleStore } from '../../core/contracts/schedule-store.js';
import type { WorkflowStore } from '../../core/workflow/workflow-store.js';
import type { StemTlsOptions } from '../tls/stem-tls.options.js';

/** A sink for adapter log lines (migrations, reconnects, swallowed background errors). */
export interface AdapterLogger {
  info(message: string): void;
  warn(message: string, error?: unknown): void;
}

/** Store type by the option name that selects it. */
export interface AdapterKinds {
  broker: Broker;
  backend: ResultBackend;
  lockStore: LockStore;
  rateLimiter: RateLimiter;
  scheduleStore: ScheduleStore;
  groupStore: GroupStore;
  revokeStore: ControlStore;
  workflowStore: WorkflowStore;
}

/** One kind of store: `'broker'`, `'backend'`, `'lockStore'`, ... */
export type AdapterKind = keyof AdapterKinds;

/** What every `connect` of an {@link AdapterSet} is given besides the URL. */
export interface AdapterConnectContext {
  /** Where the store logs. @default the store's own default (the console) */
  readonly logger?: AdapterLogger;
  /**
   * CA, client certificate and key for the store's TLS connections (from the `tls` option and the
   * `STEM_TLS_*` environment variables); the URL decides whether TLS is used.
   */
  readonly tls?: StemTlsOptions;
}

/**
 * The stores one backing service offers, each connected from a URL of its scheme (the URL is
 * passed whole, query included: each store parses its own settings such as `?prefix=`). A store
 * leaves out the kinds it does not have; asking for one of those by URL fails with a message
 * that says to use another URL or pass an instance.
 *
 * @example
 * const rabbitAdapter: AdapterSet = {
 *   broker: (url) => RabbitBroker.connect(url),
 * };
 */
export type AdapterSet = {
  readonly [K in AdapterKind]?: (url: string, context: AdapterConnectContext) => Promise<AdapterKinds[K]>;
};

/**
 * Loads the {@link AdapterSet} of a scheme when a URL of that scheme is first used; a dynamic
 * `import()` inside keeps the store's driver optional.
 */
export type AdapterLoader = () => Promise<AdapterSet>;
