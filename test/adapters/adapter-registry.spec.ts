import { describe, expect, it } from 'vitest';
import { InMemoryBroker } from '../../lib/adapters/memory/in-memory.broker.js';
import { AdapterDriverMissingError, AdapterRegistry, importAdapterDriver, registerAdapter, registeredSchemes } from '../../lib/adapters/registry/index.js';
import { createStemAdapters } from '../../lib/adapters/stem-adapters.factory.js';
import { ConfigurationError } from '../../lib/core/errors/configuration.error.js';

describe('createStemAdapters on the default registry', () => {
  it('has memory, Redis and Postgres registered', () => {
    expect(registeredSchemes().slice(0, 5)).toEqual(['memory', 'redis', 'rediss', 'postgres', 'postgresql']);
  });

  it('rejects an unknown scheme naming the option, the redacted URL and the registered schemes', async () => {
    const error = (await createStemAdapters({ broker: 'kafka://stem:secret@broker:9092' }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatch(
      /^Invalid option "broker": unsupported scheme "kafka:" in "kafka:\/\/stem:\*\*\*@broker:9092"; use one of memory:\/\/, redis:\/\/, rediss:\/\/, postgres:\/\/, postgresql:\/\//,
    );
    expect(error.message).toMatch(/register an adapter for "kafka" with registerAdapter\(\)/);
    expect(error.message).not.toMatch(/secret/);
    await expect(createStemAdapters({ broker: 'memory://', backend: 'mongodb://db' })).rejects.toThrow(/Invalid option "backend": unsupported scheme "mongodb:"/);
  });

  it('rejects a value that is not a URL', async () => {
    await expect(createStemAdapters({ broker: 'just-a-host' })).rejects.toThrow(
      /Invalid option "broker": "just-a-host" is not a URL; use a URL with one of the schemes memory:\/\//,
    );
  });

  it('never closes instances it was given, and closes what it created once', async () => {
    const broker = new InMemoryBroker();
    const adapters = await createStemAdapters({ broker });
    expect(adapters.broker).toBe(broker);
    expect(adapters.backend?.name).toBe('memory');
    await Promise.all([adapters.close(), adapters.close()]);
    await expect(broker.publish({ id: 'x', name: 't', args: {}, headers: {}, queue: 'q', priority: 0, attempt: 0, enqueuedAt: Date.now(), meta: {} })).resolves.toBeUndefined();
    await broker.close();
  });

  it('takes a store registered later, under any scheme', async () => {
    const scheme = `test${Date.now().toString(36)}`;
    registerAdapter(scheme, async () => ({ broker: async () => new InMemoryBroker() }));
    expect(registeredSchemes()).toContain(scheme);
    await expect(createStemAdapters({ broker: `${scheme}://x` })).rejects.toThrow(new RegExp(`Invalid option "backend": "${scheme}://x" has no backend`));
    const adapters = await createStemAdapters({ broker: `${scheme}://x`, backend: 'memory://', lockStore: 'memory://', rateLimiter: 'memory://', groupStore: 'memory://' });
    expect(adapters.broker.name).toBe('memory');
    expect(adapters.scheduleStore).toBeNull();
    await adapters.close();
  });
});

describe('AdapterRegistry', () => {
  it('refuses a scheme registered twice unless asked to replace it, and malformed schemes', () => {
    const registry = new AdapterRegistry();
    registry.register('amqp', async () => ({}));
    expect(() => registry.register('AMQP://', async () => ({}))).toThrow(/already registered for "amqp:\/\/"; pass \{ replace: true \}/);
    registry.register('amqp', async () => ({}), { replace: true });
    expect(() => registry.register('1bad', async () => ({}))).toThrow(/"1bad" is not a URL scheme/);
    expect(registry.unregister('amqp')).toBe(true);
    expect(registry.has('amqp://')).toBe(false);
  });

  it('loads a store once for all its schemes, on first use', async () => {
    const registry = new AdapterRegistry();
    let loads = 0;
    registry.register(['amqp', 'amqps'], async () => {
      loads++;
      return { broker: async () => new InMemoryBroker() };
    });
    expect(loads).toBe(0);
    await registry.resolve('broker', 'amqp://a');
    await registry.resolve('broker', 'AMQPS://b');
    expect(loads).toBe(1);
  });

  it('is what createStemAdapters looks schemes up in', async () => {
    const registry = new AdapterRegistry();
    await expect(createStemAdapters({ broker: 'memory://' }, registry)).rejects.toThrow(
      /unsupported scheme "memory:" in "memory:\/\/"; no scheme is registered; register an adapter for "memory"/,
    );
  });

  it('turns a missing driver into an error naming the option and the package to install', async () => {
    const registry = new AdapterRegistry();
    registry.register('amqp', () => importAdapterDriver('amqplib-not-installed', () => import('amqplib-not-installed' as string)));
    const error = (await createStemAdapters({ broker: 'amqp://host' }, registry).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe('Invalid option "broker": amqp:// URLs need the "amqplib-not-installed" package; install it with: npm install amqplib-not-installed');
    await expect(importAdapterDriver('x', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(new AdapterDriverMissingError('pg').message).toMatch(/npm install pg/);
  });
});
