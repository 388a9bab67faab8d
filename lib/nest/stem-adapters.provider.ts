import { Logger, type Provider } from '@nestjs/common';
import { createStemAdapters, type StemAdapters } from '../adapters/stem-adapters.factory.js';
import { ConfigurationError } from '../core/errors/configuration.error.js';
import { redactUrl } from '../core/utils/redact-url.js';
import type { StemModuleOptions } from './interfaces/stem-module-options.interface.js';
import { DEFAULT_BROKER_URL, STEM_ADAPTERS } from './stem.constants.js';
import { nestAdapterLogger } from './stem-adapters.logger.js';
import { STEM_MODULE_OPTIONS } from './stem.module-definition.js';

const STORE_OPTIONS = ['backend', 'lockStore', 'rateLimiter', 'scheduleStore', 'groupStore', 'revokeStore'] as const;

/**
 * Rejects options that would quietly send tasks nowhere: a producer-only app (`worker: false`)
 * whose `broker` key is present but `undefined` (typically `process.env.STEM_BROKER_URL` unset)
 * would fall back to an in-process memory broker that no worker ever reads.
 *
 * @throws ConfigurationError naming `broker` and saying what to set
 */
export function assertBrokerConfigured(options: StemModuleOptions): void {
  if (options.worker === false && Object.hasOwn(options, 'broker') && options.broker === undefined) {
    throw new ConfigurationError(
      'broker',
      'is undefined in a producer-only app (worker: false), so tasks would go to an in-process memory broker that no worker reads ' +
        '(an unset environment variable, such as STEM_BROKER_URL?). Set it to the URL your workers use (redis://..., postgres://...), ' +
        `or pass '${DEFAULT_BROKER_URL}' to run in memory on purpose.`,
    );
  }
}

function describe(value: unknown, fallback: string): string {
  if (value === false) return 'off';
  if (value === undefined) return fallback;
  if (typeof value === 'string') return redactUrl(value);
  const name = (value as { name?: unknown }).name;
  return typeof name === 'string' && name ? name : ((value as object).constructor?.name ?? 'instance');
}

/** One line naming the store of each adapter (URLs without passwords), for the boot log. */
export function describeStores(options: StemModuleOptions): string {
  const broker = describe(options.broker, DEFAULT_BROKER_URL);
  const sameStore = typeof options.broker === 'string' || options.broker === undefined ? broker : DEFAULT_BROKER_URL;
  const parts = [`broker ${broker}`];
  for (const option of STORE_OPTIONS) {
    // NOTE: the revoke store defaults to the backend's store, the others to the broker's.
    const fallback = option === 'revokeStore' && typeof options.backend === 'string' ? redactUrl(options.backend) : sameStore;
    const store = describe(options[option], fallback);
    if (store !== broker) parts.push(`${option} ${store}`);
  }
  const rest = parts.length === 1 ? ' (every store)' : '';
  return `Stores: ${parts.join(', ')}${rest}; ${options.worker === false ? 'producer only (worker: false)' : 'worker in this process'}`;
}

/** Connects the adapters named by the module options, after checking them, and logs where they point. */
export const stemAdaptersProvider: Provider = {
  provide: STEM_ADAPTERS,
  inject: [STEM_MODULE_OPTIONS],
  useFactory: async (options: StemModuleOptions): Promise<StemAdapters> => {
    assertBrokerConfigured(options);
    const logger = new Logger('Stem');
    logger.log(describeStores(options));
    const broker = options.broker ?? DEFAULT_BROKER_URL;
    if (options.worker === false && typeof broker === 'string' && broker.toLowerCase().startsWith('memory:')) {
      logger.warn(`The broker is ${DEFAULT_BROKER_URL} and this app runs no worker: tasks enqueued here run nowhere. Point broker at the store your workers use.`);
    }
    const workflowStore = options.workflows === false ? false : options.workflows?.store;
    return createStemAdapters({ ...options, workflowStore, logger: nestAdapterLogger(logger) });
  },
};
