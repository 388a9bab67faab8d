import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/index.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'stem-cli-routing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG = `
default_queue: { queue: primary, fallbacks: [legacy] }
queues:
  reports: { priority_range: [0, 3] }
broadcasts: [cache]
routes:
  - name: reports
    match: { task: "reports.*" }
    target: reports
    priority_override: 7
  - match: { headers: { tier: vip } }
    target: primary
    priority_override: 9
  - match: { task: cache.flush }
    target: { type: broadcast, name: cache }
`;
const file = join(dir, 'routing.yaml');
writeFileSync(file, CONFIG);

describe('stem routing dump', () => {
  it('prints the table from STEM_ROUTING_CONFIG, without a broker', async () => {
    const c = capture();
    expect(await runCli(['routing', 'dump'], c.io, { STEM_ROUTING_CONFIG: file })).toBe(0);
    const text = c.out.join('\n');
    expect(text).toMatch(/^Routing from STEM_ROUTING_CONFIG/);
    expect(text).toMatch(/Default queue: primary \(alias default; workers of it also consume legacy\)/);
    expect(text).toMatch(/reports\s+0-3/);
    expect(text).toMatch(/Broadcast channels: cache/);
    expect(text).toMatch(/1\s+reports\s+task reports\.\*\s+queue reports\s+7/);
    expect(text).toMatch(/2\s+routes\[1\]\s+headers tier=vip\s+queue primary\s+9/);
    expect(text).toMatch(/3\s+routes\[2\]\s+task cache\.flush\s+broadcast cache\s+-/);
  });

  it('shows where a sample task goes: the route, the clamped priority, the header match and a call queue', async () => {
    const a = capture();
    expect(await runCli(['routing', 'dump', '--config', file, '--task', 'reports.daily'], a.io, {})).toBe(0);
    expect(a.out.at(-1)).toBe('reports.daily -> queue reports, priority 3 (range 0-3; route "reports")');
    const b = capture();
    expect(await runCli(['routing', 'dump', '--config', file, '--task', 'email.send', '--headers', 'tier=vip'], b.io, {})).toBe(0);
    expect(b.out.at(-1)).toBe('email.send -> queue primary, priority 9 (range 0-9; route "routes[1]")');
    const c = capture();
    expect(await runCli(['routing', 'dump', '--config', file, '--task', 'reports.daily', '--queue', 'default', '--priority', '5'], c.io, {})).toBe(0);
    expect(c.out.at(-1)).toBe('reports.daily -> queue primary, priority 5 (range 0-9; --queue)');
    const d = capture();
    expect(await runCli(['routing', 'dump', '--config', file, '--task', 'cache.flush'], d.io, {})).toBe(0);
    expect(d.out.at(-1)).toMatch(/^cache\.flush -> broadcast cache, priority 0 \(route "routes\[2\]"; every worker subscribed to it runs the task once\)$/);
  });

  it('--json prints the table and the decision as data', async () => {
    const c = capture();
    expect(await runCli(['routing', 'dump', '--json', '--task', 'reports.x', '--priority', '1'], c.io, { STEM_ROUTING_CONFIG: file })).toBe(0);
    const json = JSON.parse(c.out.join('\n'));
    expect(json).toMatchObject({
      source: 'STEM_ROUTING_CONFIG',
      defaultQueue: { queue: 'primary', alias: 'default', fallbacks: ['legacy'] },
      queues: { reports: { min: 0, max: 3 } },
      broadcasts: ['cache'],
      decision: { type: 'queue', queue: 'reports', priority: 1, reason: 'route', route: { index: 0, label: 'reports' } },
    });
    expect(json.routes).toHaveLength(3);
  });

  it('without a config, says so and shows the default queue', async () => {
    const c = capture();
    expect(await runCli(['routing', 'dump', '--task', 'anything'], c.io, {})).toBe(0);
    expect(c.out[0]).toMatch(/No routing config \(STEM_ROUTING_CONFIG unset\)/);
    expect(c.out.at(-1)).toBe('anything -> queue default, priority 0 (range 0-9; the default queue)');
  });

  it('a bad config exits 1 naming the field; bad arguments exit 2', async () => {
    const a = capture();
    expect(await runCli(['routing', 'dump'], a.io, { STEM_ROUTING_CONFIG: '{"routes":[{"match":{},"target":{"type":"broadcast","name":"x"}}]}' })).toBe(1);
    expect(a.err.join('\n')).toMatch(/error: Invalid routing config at routes\[0\]\.target\.name: broadcast channel "x" is not declared/);
    const b = capture();
    expect(await runCli(['routing', 'dump', '--task', 'a', '--headers', 'novalue'], b.io, {})).toBe(2);
    expect(b.err.join('\n')).toMatch(/--headers "novalue" is not k=v/);
    const c = capture();
    expect(await runCli(['routing', 'show'], c.io, {})).toBe(2);
    expect(c.err.join('\n')).toMatch(/routing takes "dump", got "show"/);
    const d = capture();
    expect(await runCli(['routing', 'dump', '--task', 'a', '--priority', '12'], d.io, {})).toBe(2);
  });
});
