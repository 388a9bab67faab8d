import swc from 'unplugin-swc';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// The README examples import the package by name; in this repository the name maps to the sources
// (tsconfig.json has the same `paths`), so they run without a build.
const packageEntries: Record<string, string> = {
  'nestjs-stem': './lib/index.ts',
  'nestjs-stem/core': './lib/core/index.ts',
  'nestjs-stem/memory': './lib/adapters/memory/index.ts',
  'nestjs-stem/validation': './lib/validation/index.ts',
  'nestjs-stem/microservices': './lib/nest/microservices/index.ts',
  'nestjs-stem/redis': './lib/adapters/redis/index.ts',
  'nestjs-stem/postgres': './lib/adapters/postgres/index.ts',
  'nestjs-stem/testing': './lib/testing/index.ts',
  'nestjs-stem/testing/contracts': './lib/testing/contracts.ts',
  'nestjs-stem/dashboard': './lib/dashboard/index.ts',
};

export default defineConfig({
  plugins: [
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        target: 'es2022',
      },
    }),
  ],
  resolve: {
    alias: Object.entries(packageEntries).map(([name, path]) => ({ find: new RegExp(`^${name}$`), replacement: here(path) })),
  },
  test: {
    include: ['test/**/*.spec.ts', 'e2e/**/*.e2e-spec.ts', 'lib/**/*.spec.ts', 'examples/**/*.spec.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Most spec files wait on Redis, Postgres, child processes or timers rather than on the CPU, so
    // at least two files run at a time, even on a 2-core machine (where Vitest's default is one).
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
