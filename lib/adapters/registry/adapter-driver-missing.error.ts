import { StemError } from '../../core/errors/stem.error.js';

/**
 * An adapter's driver package is not installed (`ioredis` for `redis://`, `pg` for
 * `postgres://`). Thrown by {@link importAdapterDriver}; the factory turns it into a
 * configuration error naming the option whose URL needed it.
 */
export class AdapterDriverMissingError extends StemError {
  constructor(
    /** The package to install. */
    readonly driver: string,
    options?: { cause?: unknown },
  ) {
    super('STEM_ADAPTER_DRIVER_MISSING', `the "${driver}" package is not installed; install it with: npm install ${driver}`, options);
  }
}

/**
 * Runs `load` (a dynamic `import()` of an adapter folder) and turns "cannot find package
 * `driver`" into an {@link AdapterDriverMissingError}; other failures pass through.
 *
 * @example
 * registerAdapter('amqp', () => importAdapterDriver('amqplib', () => import('./amqp.adapter.js')).then((m) => m.amqpAdapter));
 */
export async function importAdapterDriver<T>(driver: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException)?.code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes(`'${driver}'`)) {
      throw new AdapterDriverMissingError(driver, { cause: error });
    }
    throw error;
  }
}
