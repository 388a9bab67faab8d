import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migratePostgres } from '../../lib/adapters/postgres/index.js';
import { uniqueName } from '../../lib/testing/contract-helpers.js';
import { postgresAvailable } from '../support/services.js';
import { adminQuery, dropSchema, eventually, POSTGRES_URL, recordingLogger, testSchema } from './postgres-test-kit.js';

const available = await postgresAvailable();
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
// NOTE: the children run the TypeScript sources through the same SWC hooks as the Redis
// cross-process tests, so nothing has to be built first.
const REGISTER = fileURLToPath(new URL('../support/register-ts.mjs', import.meta.url));

/** A child `node` process with its stdout collected line by line. */
class Proc {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(script: string, env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', REGISTER, fixture(script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.on('data', (chunk: Buffer) => this.lines.push(`stderr ${chunk.toString().trim()}`));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Ids of tasks this process started. */
  started(): string[] {
    return this.lines.filter((l) => l.startsWith('started ')).map((l) => l.split(' ')[1]!);
  }

  finished(): string[] {
    return this.lines.filter((l) => l.startsWith('done ')).map((l) => l.split(' ')[1]!);
  }

  async waitFor(predicate: (lines: string[]) => boolean, ms: number, what: string): Promise<void> {
    if (!(await eventually(() => predicate(this.lines), ms))) {
      const output = this.lines.filter((l) => !/^(started|done) /.test(l)).join('\n');
      throw new Error(`Timed out waiting for ${what}; output (task lines omitted):\n${output}`);
    }
  }

  result(): { succeeded: number; timedOut: number; correct: boolean } | undefined {
    const line = this.lines.find((l) => l.startsWith('result '));
    return line ? JSON.parse(line.slice('result '.length)) : undefined;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null) this.child.kill(signal);
  }
}

describe.runIf(available)('Postgres across processes', () => {
  const schema = testSchema();
  const procs: Proc[] = [];
  const start = (script: string, env: Record<string, string>) => {
    const p = new Proc(script, { STEM_URL: POSTGRES_URL, STEM_SCHEMA: schema, ...env });
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    await migratePostgres(POSTGRES_URL, { schema, logger: recordingLogger() });
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      p.kill('SIGKILL');
      await p.exited;
    }
  });
  afterAll(() => dropSchema(schema));

  const leftovers = async (queue: string) => {
    const jobs = await adminQuery<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".jobs WHERE queue = $1`, [queue]);
    const dead = await adminQuery<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".dead_letters WHERE queue = $1`, [queue]);
    return { jobs: jobs.rows[0]!.n, dead: dead.rows[0]!.n };
  };
  /** Rows left for `queue` once the worker's last acks have landed (a result is stored before its ack). */
  const leftoversAfterAcks = async (queue: string) => {
    await eventually(async () => {
      const left = await leftovers(queue);
      return left.jobs === 0 && left.dead === 0;
    }, 5_000);
    return leftovers(queue);
  };

  it('redelivers the tasks of a SIGKILLed worker after their lease, and loses nothing', async () => {
    const queue = uniqueName('kill');
    const first = start('worker.ts', { STEM_QUEUE: queue, STEM_TASK_MS: '3000', STEM_CONCURRENCY: '3' });
    await first.waitFor((l) => l.includes('ready'), 10_000, 'the first worker');
    const producer = start('producer.ts', { STEM_QUEUE: queue, STEM_COUNT: '12', STEM_VISIBILITY: '1500' });
    await first.waitFor((l) => l.filter((x) => x.startsWith('started ')).length >= 3, 10_000, 'three running tasks');
    const inFlight = first.started();
    first.kill('SIGKILL');
    await first.exited;
    expect(first.finished()).toEqual([]);

    const second = start('worker.ts', { STEM_QUEUE: queue, STEM_TASK_MS: '50', STEM_CONCURRENCY: '5' });
    await producer.waitFor((l) => l.some((x) => x.startsWith('result ')), 25_000, 'the producer');
    expect(producer.result()).toEqual({ succeeded: 12, timedOut: 0, correct: true });
    expect(second.started()).toEqual(expect.arrayContaining(inFlight));
    expect(await leftoversAfterAcks(queue)).toEqual({ jobs: 0, dead: 0 });
  }, 40_000);

  it('keeps working through pg_terminate_backend of the worker connections', async () => {
    const queue = uniqueName('term');
    const appName = uniqueName('stem-cp-worker');
    const worker = start('worker.ts', { STEM_QUEUE: queue, STEM_TASK_MS: '20', STEM_CONCURRENCY: '10', STEM_APP_NAME: appName });
    await worker.waitFor((l) => l.includes('ready'), 10_000, 'the worker');
    const producer = start('producer.ts', { STEM_QUEUE: queue, STEM_COUNT: '300', STEM_VISIBILITY: '2000' });
    await worker.waitFor((l) => l.filter((x) => x.startsWith('done ')).length >= 20, 10_000, 'some finished tasks');
    for (let round = 0; round < 2; round++) {
      const { rowCount } = await adminQuery('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [appName]);
      expect(rowCount).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    /** Rethrows with what a failure needs to be understood: worker log, rows left, statuses. */
    const diagnose = async (error: Error) => {
      const statuses = await adminQuery(`SELECT state, count(*)::int AS n FROM "${schema}".results WHERE queue = $1 GROUP BY state`, [queue]);
      const log = worker.lines
        .filter((l) => !/^(started|done) /.test(l))
        .slice(-25)
        .join('\n');
      throw new Error(`${error.message}\nworker log:\n${log}\nleft: ${JSON.stringify(await leftovers(queue))}\nstatuses: ${JSON.stringify(statuses.rows)}`);
    };
    await producer.waitFor((l) => l.some((x) => x.startsWith('result ')), 30_000, 'the producer').catch(diagnose);
    if (producer.result()?.succeeded !== 300) await diagnose(new Error('not all succeeded'));
    expect(producer.result()).toEqual({ succeeded: 300, timedOut: 0, correct: true });
    expect(worker.lines.some((l) => /LISTEN connection restored/.test(l))).toBe(true);
    expect(await leftoversAfterAcks(queue)).toEqual({ jobs: 0, dead: 0 });

    // The same worker process keeps consuming after the disruption.
    const later = start('producer.ts', { STEM_QUEUE: queue, STEM_COUNT: '5' });
    await later.waitFor((l) => l.some((x) => x.startsWith('result ')), 10_000, 'the second producer').catch(diagnose);
    expect(later.result()).toEqual({ succeeded: 5, timedOut: 0, correct: true });
  }, 60_000);
});
