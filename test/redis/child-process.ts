import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REGISTER = fileURLToPath(new URL('../support/register-ts.mjs', import.meta.url));

/** A fixture script run as its own `node` process, with its stdout split into lines. */
export class FixtureProcess {
  readonly lines: string[] = [];
  private readonly waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  readonly exited: Promise<number | null>;
  private stderr = '';

  private constructor(readonly child: ChildProcess) {
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) this.push(line);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Runs `test/redis/fixtures/<name>.ts` with `env` added to the environment. */
  static start(name: string, env: Record<string, string>): FixtureProcess {
    return FixtureProcess.run(fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url)), env);
  }

  /** Runs the TypeScript file at `path` with `env` added to the environment. */
  static run(path: string, env: Record<string, string>): FixtureProcess {
    const child = spawn(process.execPath, ['--import', REGISTER, path], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new FixtureProcess(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first stdout line (past or future) that `match` accepts. */
  waitForLine(match: (line: string) => boolean, ms = 15_000): Promise<string> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`No matching output within ${ms} ms; stderr:\n${this.stderr}`)), ms);
      this.waiters.push({ match, resolve: (line) => (clearTimeout(timer), resolve(line)) });
      void this.exited.then((code) => reject(new Error(`Process exited (${code}) before the expected output; stderr:\n${this.stderr}`)));
    });
  }

  /** Sends a signal and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }

  private push(line: string): void {
    this.lines.push(line);
    for (const waiter of [...this.waiters]) {
      if (!waiter.match(line)) continue;
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  }
}
