import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const path = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** Imports `entry` in a fresh `node` process where @nestjs/* and the optional peers cannot load. */
async function importWithoutNest(entry: string, code: string): Promise<string> {
  const script = `const core = await import(${JSON.stringify(path(entry))}); ${code}`;
  const { stdout } = await run(
    process.execPath,
    ['--import', path('../support/register-ts.mjs'), '--import', path('./fixtures/forbid-imports.mjs'), '--input-type=module', '-e', script],
    { cwd: path('../../') },
  );
  return stdout.trim();
}

describe('nestjs-stem/core', () => {
  it('loads without any @nestjs/* package, class-validator, ioredis or pg, and runs a task', async () => {
    const out = await importWithoutNest(
      '../../lib/core/index.ts',
      `const { InMemoryBroker, InMemoryResultBackend } = await import(${JSON.stringify(path('../../lib/adapters/memory/index.ts'))});
       const broker = new InMemoryBroker();
       const backend = new InMemoryResultBackend();
       const registry = new core.SimpleTaskRegistry([{ name: 'add', call: async (_ctx, a) => a.x + a.y }]);
       const worker = new core.Worker({ broker, backend, registry });
       await worker.start();
       const stem = new core.Stem({ broker, backend, registry });
       const result = await stem.waitForTask(await stem.enqueue('add', { x: 2, y: 3 }), { timeout: 5000 });
       await worker.close();
       console.log(result.value);`,
    );
    expect(out).toBe('5');
  }, 30_000);

  it('exports the engine: producer, worker, canvas, Beat, metrics, signing, errors', async () => {
    const out = await importWithoutNest('../../lib/core/index.ts', 'console.log(Object.keys(core).sort().join(","));');
    const names = out.split(',');
    for (const name of [
      'Stem',
      'Worker',
      'SimpleTaskRegistry',
      'Canvas',
      'Beat',
      'StemScheduler',
      'StemMetrics',
      'EnvelopeSigner',
      'InvalidTaskArgsError',
      'ConfigurationError',
      'defineTask',
      'redactUrl',
    ]) {
      expect(names).toContain(name);
    }
    expect(names).not.toContain('ClassValidatorArgsValidator');
  }, 30_000);

  it('the forbidding hook does catch a Nest import (the check can fail)', async () => {
    await expect(importWithoutNest('../../lib/nest/stem.client.ts', 'console.log("loaded")')).rejects.toThrow(/forbidden import "@nestjs\/common"/);
  }, 30_000);
});
