import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InMemoryBroker } from '../../lib/adapters/memory/in-memory.broker.js';
import type { Broker } from '../../lib/core/contracts/broker.js';
import type { RoutingConfig } from '../../lib/core/routing/routing-config.js';
import { RoutingConfigError } from '../../lib/core/routing/routing-config.error.js';
import { RoutingTable } from '../../lib/core/routing/routing-table.js';
import { Stem } from '../../lib/core/stem.js';

const dir = mkdtempSync(join(tmpdir(), 'stem-routing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const YAML = `
default_queue:
  queue: primary
  alias: main
  fallbacks: [legacy]
queues:
  primary: {}
  reports:
    priority_range: [0, 3]
broadcasts:
  - cache
routes:
  - name: reports
    match: { task: "reports.*" }
    target: { type: queue, name: reports }
    priority_override: 7
  - match:
      task: cache.flush
    target: { type: broadcast, name: cache }
`;

const JSON_CONFIG: RoutingConfig = {
  defaultQueue: { queue: 'primary', alias: 'main', fallbacks: ['legacy'] },
  queues: { primary: {}, reports: { priorityRange: { min: 0, max: 3 } } },
  broadcasts: { cache: {} },
  routes: [
    { name: 'reports', match: { task: 'reports.*' }, target: 'reports', priorityOverride: 7 },
    { match: { task: 'cache.flush' }, target: { type: 'broadcast', name: 'cache' } },
  ],
};

function errorOf(fn: () => unknown): RoutingConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RoutingConfigError);
    return error as RoutingConfigError;
  }
  throw new Error('expected a RoutingConfigError');
}

describe('routing config: sources', () => {
  const expected = RoutingTable.from(JSON_CONFIG).describe();

  it('reads YAML text (snake_case keys), JSON text and an object into the same table', () => {
    expect(RoutingTable.from(YAML).describe()).toEqual(expected);
    expect(RoutingTable.from(JSON.stringify(JSON_CONFIG)).describe()).toEqual(expected);
    expect(expected).toMatchObject({
      defaultQueue: { queue: 'primary', alias: 'main', fallbacks: ['legacy'] },
      aliases: { main: 'primary', default: 'primary' },
      queues: { primary: { min: 0, max: 9 }, reports: { min: 0, max: 3 } },
      broadcasts: ['cache'],
      routes: [
        { label: 'reports', match: { task: ['reports.*'] }, target: { type: 'queue', name: 'reports' }, priorityOverride: 7 },
        { label: 'routes[1]', match: { task: ['cache.flush'] }, target: { type: 'broadcast', name: 'cache' } },
      ],
    });
  });

  it('reads .yaml, .yml and .json files', () => {
    for (const [file, text] of [
      ['routing.yaml', YAML],
      ['routing.yml', YAML],
      ['routing.json', JSON.stringify(JSON_CONFIG)],
    ] as const) {
      const path = join(dir, file);
      writeFileSync(path, text);
      expect(RoutingTable.from(path).describe()).toEqual(expected);
    }
  });

  it('reads STEM_ROUTING_CONFIG (text or path); unset or blank means no routing', () => {
    const path = join(dir, 'env.yaml');
    writeFileSync(path, YAML);
    expect(RoutingTable.fromEnv({ STEM_ROUTING_CONFIG: path })?.describe()).toEqual(expected);
    expect(RoutingTable.fromEnv({ STEM_ROUTING_CONFIG: JSON.stringify(JSON_CONFIG) })?.describe()).toEqual(expected);
    expect(RoutingTable.fromEnv({})).toBeUndefined();
    expect(RoutingTable.fromEnv({ STEM_ROUTING_CONFIG: '  ' })).toBeUndefined();
  });

  it('a Stem reads STEM_ROUTING_CONFIG when given no routing option, and `routing: false` ignores it', async () => {
    const previous = process.env.STEM_ROUTING_CONFIG;
    process.env.STEM_ROUTING_CONFIG = JSON.stringify({ routes: [{ match: { task: 'reports.*' }, target: 'reports' }] });
    const broker = new InMemoryBroker();
    try {
      await new Stem({ broker }).enqueue('reports.daily');
      await new Stem({ broker, routing: false }).enqueue('reports.daily');
      expect(await broker.pendingCount('reports')).toBe(1);
      expect(await broker.pendingCount('default')).toBe(1);
    } finally {
      if (previous === undefined) delete process.env.STEM_ROUTING_CONFIG;
      else process.env.STEM_ROUTING_CONFIG = previous;
      await broker.close();
    }
  });

  it('names the source and the problem of text that does not parse, or a missing file', () => {
    expect(errorOf(() => RoutingTable.from('{ "routes": [', 'STEM_ROUTING_CONFIG')).message).toMatch(/STEM_ROUTING_CONFIG: it is not valid JSON/);
    expect(errorOf(() => RoutingTable.from('routes: [\n  - {', 'STEM_ROUTING_CONFIG')).message).toMatch(/STEM_ROUTING_CONFIG: it is not valid YAML/);
    const missing = errorOf(() => RoutingTable.from(join(dir, 'nope.yaml'), '--config'));
    expect(missing.field).toBe('--config');
    expect(missing.message).toMatch(/nope\.yaml" does not exist.*fix the path/);
    expect(errorOf(() => RoutingTable.from(' ')).message).toMatch(/it is empty/);
  });
});

describe('routing config: validation names the field and the fix', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['unknown top-level key', { rutes: [] }, 'rutes', /unknown key "rutes"; use one of: defaultQueue, queues, broadcasts, routes/],
    ['typo in a match', { routes: [{ match: { taks: 'a.*' }, target: 'q' }] }, 'routes[0].match.taks', /use one of: task, headers, queue/],
    ['range out of 0-9', { queues: { reports: { priorityRange: [0, 12] } } }, 'queues.reports.priorityRange.max', /integer from 0 to 9, got 12/],
    ['range upside down', { queues: { reports: { priorityRange: [5, 1] } } }, 'queues.reports.priorityRange', /min 5 is above max 1; swap them/],
    ['range of a wrong shape', { queues: { reports: { priorityRange: 3 } } }, 'queues.reports.priorityRange', /\[min, max\] or \{ min, max \}/],
    ['missing target', { routes: [{ match: { task: 'a' } }] }, 'routes[0].target', /is missing/],
    ['bad target type', { routes: [{ match: {}, target: { type: 'topic', name: 'x' } }] }, 'routes[0].target.type', /"queue" or "broadcast"/],
    [
      'undeclared broadcast',
      { broadcasts: ['cache'], routes: [{ match: {}, target: { type: 'broadcast', name: 'cahce' } }] },
      'routes[0].target.name',
      /"cahce" is not declared; add it to broadcasts \(declared: cache\)/,
    ],
    ['priority override out of range', { routes: [{ match: {}, target: 'q', priority_override: -1 }] }, 'routes[0].priorityOverride', /integer from 0 to 9/],
    ['header value not text', { routes: [{ match: { headers: { tier: 1 } }, target: 'q' }] }, 'routes[0].match.headers.tier', /must be a string.*quote it/],
    ['empty task list', { routes: [{ match: { task: [] }, target: 'q' }] }, 'routes[0].match.task', /empty list/],
    [
      'alias clash',
      { defaultQueue: { queue: 'primary', alias: 'reports' }, queues: { reports: {} } },
      'defaultQueue.alias',
      /"reports" would name both queue "reports" and queue "primary"/,
    ],
    ['fallback is the default', { defaultQueue: { queue: 'primary', fallbacks: ['default'] } }, 'defaultQueue.fallbacks', /is the default queue itself/],
    ['broadcast named like a queue', { queues: { cache: {} }, broadcasts: ['cache'] }, 'broadcasts.cache', /also a queue name/],
    ['both spellings', { defaultQueue: 'a', default_queue: 'b' }, 'defaultQueue', /both "defaultQueue" and "default_queue"/],
    ['not an object', ['routes'], 'routing', /must be an object/],
  ];
  for (const [title, config, field, message] of cases) {
    it(title, () => {
      const error = errorOf(() => RoutingTable.from(config as never));
      expect(error.field).toBe(field);
      expect(error.message).toMatch(message);
      expect(error.code).toBe('STEM_ROUTING_CONFIG');
    });
  }

  it('a route to a broadcast channel on a broker without broadcast fails when the producer is built, not at the first enqueue', () => {
    const memory = new InMemoryBroker();
    const noBroadcast = Object.assign(Object.create(memory) as Broker, { name: 'plain', broadcast: undefined, subscribeBroadcast: undefined });
    const routing = { broadcasts: ['cache'], routes: [{ match: { task: 'cache.*' }, target: { type: 'broadcast' as const, name: 'cache' } }] };
    const error = errorOf(() => new Stem({ broker: noBroadcast, routing }));
    expect(error.message).toMatch(/the plain broker has no broadcast capability; use a memory:\/\/, redis:\/\/ or postgres:\/\/ broker, or route those tasks to a queue/);
    expect(() => new Stem({ broker: memory, routing })).not.toThrow();
  });
});

describe('routing table: resolution', () => {
  const table = RoutingTable.from(JSON_CONFIG);

  it('globs match dots and single characters; headers must all match; the first matching route wins', () => {
    const t = RoutingTable.from({
      routes: [
        { match: { task: 'a.?', headers: { x: '1', y: '2' } }, target: 'both' },
        { match: { task: ['a.*', 'b'] }, target: 'glob' },
      ],
    });
    expect(t.resolve({ task: 'a.b', headers: { x: '1', y: '2' } })).toMatchObject({ queue: 'both', reason: 'route', route: { index: 0 } });
    expect(t.resolve({ task: 'a.b', headers: { x: '1' } })).toMatchObject({ queue: 'glob', route: { index: 1 } });
    expect(t.resolve({ task: 'a.b.c' })).toMatchObject({ queue: 'glob' });
    expect(t.resolve({ task: 'b' })).toMatchObject({ queue: 'glob' });
    expect(t.resolve({ task: 'ba' })).toMatchObject({ queue: 'default', reason: 'default' });
  });

  it('precedence: call queue > route > @Task queue > default queue; aliases resolve everywhere', () => {
    expect(table.resolve({ task: 'reports.x', queue: 'main' })).toMatchObject({ queue: 'primary', reason: 'call' });
    expect(table.resolve({ task: 'reports.x', taskQueue: 'elsewhere' })).toMatchObject({ queue: 'reports', reason: 'route' });
    expect(table.resolve({ task: 'email.send', taskQueue: 'main' })).toMatchObject({ queue: 'primary', reason: 'task' });
    expect(table.resolve({ task: 'email.send' })).toMatchObject({ queue: 'primary', reason: 'default' });
  });

  it('priority: call > route override > task, then clamped into the queue range', () => {
    expect(table.resolve({ task: 'reports.x' })).toMatchObject({ priority: 3 });
    expect(table.resolve({ task: 'reports.x', priority: 1, taskPriority: 9 })).toMatchObject({ priority: 1 });
    expect(table.resolve({ task: 'reports.x', queue: 'reports', priority: 9 })).toMatchObject({ queue: 'reports', priority: 3, reason: 'call' });
    expect(table.resolve({ task: 'email.send', taskPriority: 8 })).toMatchObject({ priority: 8 });
  });

  it('a route may match on the queue the task would otherwise go to', () => {
    const t = RoutingTable.from({ routes: [{ match: { queue: 'default' }, target: 'moved' }] });
    expect(t.resolve({ task: 'x' })).toMatchObject({ queue: 'moved' });
    expect(t.resolve({ task: 'x', taskQueue: 'other' })).toMatchObject({ queue: 'other', reason: 'task' });
  });

  it('broadcast routes resolve to their channel', () => {
    expect(table.resolve({ task: 'cache.flush', priority: 4 })).toEqual({
      type: 'broadcast',
      channel: 'cache',
      priority: 4,
      reason: 'route',
      route: { index: 1, label: 'routes[1]' },
    });
  });

  it('worker queues: aliases resolve, the default queue brings its fallbacks, duplicates go', () => {
    expect(table.workerQueues(['main', 'reports', 'primary'])).toEqual(['primary', 'legacy', 'reports']);
  });
});
