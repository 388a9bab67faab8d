import { fork } from 'node:child_process';

/** A side of the scaling table: its worker-process kind and how to fill its backlog. */
export interface ScalingSide {
  readonly name: string;
  /** `worker-process.ts` kind. */
  readonly kind: string;
  readonly url: string;
  /** Key prefix (Redis) or schema (Postgres) the workers use. */
  readonly namespace: string;
  /** Enqueues `count` no-op tasks on `queue` in bulk. */
  fill(queue: string, count: number): Promise<void>;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * Drains a backlog of `count` no-op tasks with `processes` worker processes at `concurrency` each;
 * returns tasks per second, timed from the moment every process is ready to start.
 */
export async function drainWithProcesses(side: ScalingSide, queue: string, processes: number, concurrency: number, count: number): Promise<number> {
  await side.fill(queue, count);
  const script = new URL('./worker-process.js', import.meta.url);
  const children = Array.from({ length: processes }, () => fork(script, [side.kind, side.url, side.namespace, queue, String(concurrency)], { stdio: 'inherit' }));
  const done = children.map(() => 0);
  try {
    await Promise.all(children.map((child) => new Promise<void>((resolve) => child.once('message', () => resolve()))));
    const started = performance.now();
    const drained = new Promise<void>((resolve) =>
      children.forEach((child, i) =>
        child.on('message', (m: { done?: number }) => {
          if (typeof m?.done !== 'number') return;
          done[i] = m.done;
          if (done.reduce((a, b) => a + b, 0) >= count) resolve();
        }),
      ),
    );
    for (const child of children) child.send('go');
    await drained;
    return count / ((performance.now() - started) / 1000);
  } finally {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once('exit', () => resolve());
            child.send('stop');
          }),
      ),
    );
  }
}

/**
 * Prints the scaling table: each side's throughput with one process at concurrency 1, 10, 50 and
 * 200, and with 1, 2 and 4 processes at concurrency 50 (one run each; the same backlog sizes on
 * every side).
 */
export async function scalingTable(sides: readonly ScalingSide[], sizeFor: (processes: number, concurrency: number) => number): Promise<void> {
  const cells: [number, number][] = [
    [1, 1],
    [1, 10],
    [1, 50],
    [1, 200],
    [2, 50],
    [4, 50],
  ];
  const rows: string[][] = [];
  let n = 0;
  for (const [processes, concurrency] of cells) {
    const row = [`${processes} process${processes > 1 ? 'es' : ''} × concurrency ${concurrency}`];
    // NOTE: the order of the sides alternates from cell to cell, so background load hits both alike.
    const order = n++ % 2 ? [...sides].reverse() : [...sides];
    const rates = new Map<ScalingSide, number>();
    for (const side of order) {
      const count = sizeFor(processes, concurrency);
      rates.set(side, await drainWithProcesses(side, `scale-${processes}-${concurrency}`, processes, concurrency, count));
      console.log(`  ... ${side.name}, ${row[0]}: ${fmt(rates.get(side)!)}/s`);
    }
    for (const side of sides) row.push(`${fmt(rates.get(side)!)}/s`);
    if (sides.length === 2) row.push(`${(rates.get(sides[0]!)! / rates.get(sides[1]!)!).toFixed(2)}x`);
    rows.push(row);
  }
  const header = ['workers', ...sides.map((s) => s.name), ...(sides.length === 2 ? ['ratio'] : [])];
  console.log(`\nScaling (tasks/s draining a backlog; one run per cell):`);
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}
