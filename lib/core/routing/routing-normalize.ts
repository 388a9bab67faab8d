import { RoutingConfigError } from './routing-config.error.js';
import { globToRegExp } from './task-glob.js';

/** A priority range, both ends included. */
export interface PriorityRange {
  readonly min: number;
  readonly max: number;
}

/** A route after validation: queue names resolved through aliases. */
export interface NormalizedRoute {
  /** Position in `routes`, 0-based. */
  readonly index: number;
  /** Its `name`, else `routes[<index>]`. */
  readonly label: string;
  readonly taskGlobs?: readonly string[];
  readonly taskPatterns?: readonly RegExp[];
  readonly headers: Readonly<Record<string, string>>;
  readonly queue?: string;
  readonly target: { readonly type: 'queue' | 'broadcast'; readonly name: string };
  readonly priorityOverride?: number;
}

/** A routing config after validation. */
export interface NormalizedRouting {
  readonly defaultQueue: string;
  readonly defaultAlias: string;
  readonly fallbacks: readonly string[];
  /** Alias (and every queue's own name) to queue. */
  readonly aliases: ReadonlyMap<string, string>;
  /** Declared queues and their priority range. */
  readonly queues: ReadonlyMap<string, PriorityRange>;
  readonly broadcasts: readonly string[];
  readonly routes: readonly NormalizedRoute[];
}

type Obj = Record<string, unknown>;

const isObject = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `value[camel]` or `value[snake]`, refusing both at once. */
function pick(value: Obj, camel: string, snake: string, at: string): unknown {
  if (camel in value && snake in value) throw new RoutingConfigError(at ? `${at}.${camel}` : camel, `both "${camel}" and "${snake}" are set; keep one`);
  return value[camel] ?? value[snake];
}

function allowKeys(value: Obj, at: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new RoutingConfigError(at ? `${at}.${key}` : key, `unknown key "${key}"; use one of: ${allowed.filter((k) => !k.includes('_')).join(', ')}`);
  }
}

function name(value: unknown, at: string, what: string): string {
  if (typeof value !== 'string' || value.trim().length === 0) throw new RoutingConfigError(at, `${what} must be a non-empty string, got ${JSON.stringify(value)}`);
  return value.trim();
}

function priority(value: unknown, at: string): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 9) throw new RoutingConfigError(at, `must be an integer from 0 to 9, got ${JSON.stringify(value)}`);
  return value as number;
}

function priorityRange(value: unknown, at: string): PriorityRange {
  let min: unknown;
  let max: unknown;
  if (Array.isArray(value) && value.length === 2) [min, max] = value;
  else if (isObject(value)) {
    allowKeys(value, at, ['min', 'max']);
    ({ min, max } = value);
  } else throw new RoutingConfigError(at, `must be [min, max] or { min, max }, got ${JSON.stringify(value)}`);
  const range = { min: priority(min, `${at}.min`), max: priority(max, `${at}.max`) };
  if (range.min > range.max) throw new RoutingConfigError(at, `min ${range.min} is above max ${range.max}; swap them`);
  return range;
}

function stringList(value: unknown, at: string, what: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw new RoutingConfigError(at, `must be ${what} or a list of them, got ${JSON.stringify(value)}`);
  if (list.length === 0) throw new RoutingConfigError(at, 'is an empty list; give at least one or leave it out');
  return list.map((item, i) => name(item, `${at}[${i}]`, what));
}

function headerMap(value: unknown, at: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) throw new RoutingConfigError(at, `must be an object of header names to string values, got ${JSON.stringify(value)}`);
  for (const [key, v] of Object.entries(value))
    if (typeof v !== 'string') throw new RoutingConfigError(`${at}.${key}`, `must be a string (headers are text), got ${JSON.stringify(v)}; quote it`);
  return value as Record<string, string>;
}

/**
 * Validates a routing config (see {@link RoutingConfig}) and resolves its names.
 * @throws RoutingConfigError naming the field at fault and how to fix it
 */
export function normalizeRouting(raw: unknown): NormalizedRouting {
  if (!isObject(raw)) throw new RoutingConfigError('routing', `must be an object with defaultQueue, queues, broadcasts and routes, got ${JSON.stringify(raw)}`);
  allowKeys(raw, '', ['defaultQueue', 'default_queue', 'queues', 'broadcasts', 'routes']);
  const queues = new Map<string, PriorityRange>();
  const rawQueues = raw.queues ?? {};
  if (!isObject(rawQueues)) throw new RoutingConfigError('queues', 'must be an object of queue name to { priorityRange }');
  for (const [queue, def] of Object.entries(rawQueues)) {
    const at = `queues.${queue}`;
    name(queue, at, 'a queue name');
    if (def !== null && !isObject(def)) throw new RoutingConfigError(at, 'must be an object ({ priorityRange: [min, max] }) or empty');
    if (def) allowKeys(def, at, ['priorityRange', 'priority_range']);
    const range = def ? pick(def, 'priorityRange', 'priority_range', at) : undefined;
    queues.set(queue, range === undefined ? { min: 0, max: 9 } : priorityRange(range, `${at}.priorityRange`));
  }
  const rawDefault = pick(raw, 'defaultQueue', 'default_queue', '') ?? {};
  const def = typeof rawDefault === 'string' ? { queue: rawDefault } : rawDefault;
  if (!isObject(def)) throw new RoutingConfigError('defaultQueue', 'must be a queue name or { queue, alias, fallbacks }');
  allowKeys(def, 'defaultQueue', ['queue', 'alias', 'fallbacks']);
  const defaultQueue = def.queue === undefined ? 'default' : name(def.queue, 'defaultQueue.queue', 'the default queue');
  const defaultAlias = def.alias === undefined ? 'default' : name(def.alias, 'defaultQueue.alias', 'the alias');
  const aliases = new Map<string, string>();
  const alias = (from: string, to: string, at: string) => {
    const existing = aliases.get(from);
    if (existing !== undefined && existing !== to) throw new RoutingConfigError(at, `"${from}" would name both queue "${existing}" and queue "${to}"; rename one`);
    aliases.set(from, to);
  };
  for (const queue of queues.keys()) alias(queue, queue, `queues.${queue}`);
  alias(defaultQueue, defaultQueue, 'defaultQueue.queue');
  alias(defaultAlias, defaultQueue, 'defaultQueue.alias');
  if (!aliases.has('default')) aliases.set('default', defaultQueue);
  const resolve = (queue: string) => aliases.get(queue) ?? queue;
  const fallbacks =
    def.fallbacks === undefined
      ? []
      : [...new Set(stringList(def.fallbacks, 'defaultQueue.fallbacks', 'a queue name').map(resolve))].filter((q) => {
          if (q === defaultQueue) throw new RoutingConfigError('defaultQueue.fallbacks', `"${q}" is the default queue itself; leave it out`);
          return true;
        });
  const rawBroadcasts = raw.broadcasts ?? [];
  let broadcasts: string[];
  if (Array.isArray(rawBroadcasts)) broadcasts = rawBroadcasts.map((b, i) => name(b, `broadcasts[${i}]`, 'a broadcast channel'));
  else if (isObject(rawBroadcasts)) {
    broadcasts = Object.keys(rawBroadcasts);
    for (const [channel, options] of Object.entries(rawBroadcasts)) {
      if (options !== null && !(isObject(options) && Object.keys(options).length === 0)) {
        throw new RoutingConfigError(`broadcasts.${channel}`, 'takes no options (delivery is at most once to each subscribed worker); give null or {}');
      }
    }
  } else throw new RoutingConfigError('broadcasts', 'must be a list of channel names or an object of name to {}');
  for (const channel of broadcasts)
    if (aliases.has(channel)) throw new RoutingConfigError(`broadcasts.${channel}`, `"${channel}" is also a queue name; name the channel differently`);
  const rawRoutes = raw.routes ?? [];
  if (!Array.isArray(rawRoutes)) throw new RoutingConfigError('routes', 'must be a list of { match, target, priorityOverride }');
  const routes = rawRoutes.map((route, index) => normalizeRoute(route, index, resolve, broadcasts));
  return { defaultQueue, defaultAlias, fallbacks, aliases, queues, broadcasts, routes };
}

function normalizeRoute(raw: unknown, index: number, resolve: (q: string) => string, broadcasts: readonly string[]): NormalizedRoute {
  const at = `routes[${index}]`;
  if (!isObject(raw)) throw new RoutingConfigError(at, 'must be an object { match, target, priorityOverride? }');
  allowKeys(raw, at, ['name', 'match', 'target', 'priorityOverride', 'priority_override']);
  const label = raw.name === undefined ? at : name(raw.name, `${at}.name`, 'a route name');
  const match = raw.match ?? {};
  if (!isObject(match)) throw new RoutingConfigError(`${at}.match`, 'must be an object { task?, headers?, queue? }');
  allowKeys(match, `${at}.match`, ['task', 'headers', 'queue']);
  const taskGlobs = match.task === undefined ? undefined : stringList(match.task, `${at}.match.task`, 'a task-name glob');
  const headers = headerMap(match.headers, `${at}.match.headers`);
  const queue = match.queue === undefined ? undefined : resolve(name(match.queue, `${at}.match.queue`, 'a queue name'));
  if (raw.target === undefined) throw new RoutingConfigError(`${at}.target`, 'is missing; give a queue name or { type: "broadcast", name }');
  const target = typeof raw.target === 'string' ? { type: 'queue', name: raw.target } : raw.target;
  if (!isObject(target)) throw new RoutingConfigError(`${at}.target`, 'must be a queue name or { type: "queue" | "broadcast", name }');
  allowKeys(target, `${at}.target`, ['type', 'name']);
  const type = target.type ?? 'queue';
  if (type !== 'queue' && type !== 'broadcast') throw new RoutingConfigError(`${at}.target.type`, `must be "queue" or "broadcast", got ${JSON.stringify(type)}`);
  let targetName = name(target.name, `${at}.target.name`, type === 'queue' ? 'a queue name' : 'a broadcast channel');
  if (type === 'queue') targetName = resolve(targetName);
  else if (!broadcasts.includes(targetName)) {
    throw new RoutingConfigError(`${at}.target.name`, `broadcast channel "${targetName}" is not declared; add it to broadcasts (declared: ${broadcasts.join(', ') || 'none'})`);
  }
  const override = pick(raw, 'priorityOverride', 'priority_override', at);
  return {
    index,
    label,
    ...(taskGlobs ? { taskGlobs, taskPatterns: taskGlobs.map(globToRegExp) } : {}),
    headers,
    ...(queue !== undefined ? { queue } : {}),
    target: { type, name: targetName },
    ...(override !== undefined ? { priorityOverride: priority(override, `${at}.priorityOverride`) } : {}),
  };
}
