import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;

/**
 * The TypeScript parser, except that every `import type` / `export type ... from` reads as a value
 * import. import-x's `no-cycle` skips type-only edges, but this project forbids cycles through them
 * too (they still tie the two files together). Only the `importKind`/`exportKind` fields change;
 * scopes are analysed before, so no other enabled rule sees a difference.
 */
const parserCountingTypeImports = {
  meta: { name: 'typescript-eslint-parser/type-imports-as-values' },
  parseForESLint(code, options) {
    const result = tseslint.parser.parseForESLint(code, options);
    for (const node of result.ast.body) {
      if (!node.source) continue;
      if (node.type === 'ImportDeclaration') {
        node.importKind = 'value';
        for (const specifier of node.specifiers) if (specifier.importKind) specifier.importKind = 'value';
      } else if (node.type === 'ExportNamedDeclaration' || node.type === 'ExportAllDeclaration') {
        node.exportKind = 'value';
        for (const specifier of node.specifiers ?? []) if (specifier.exportKind) specifier.exportKind = 'value';
      }
    }
    return result;
  },
};

const nestMessage = 'The core runs without Nest: move Nest code to lib/nest/.';
const driverMessage = 'The core loads no database driver: move driver code to its adapter in lib/adapters/.';
const validationMessage = 'The core loads no validation library: the class-validator loader lives outside the core.';

/** Package imports the core may not make, as `no-restricted-imports` patterns and `import()` selectors. */
function coreRestrictions({ validation }) {
  const patterns = [
    { group: ['@nestjs/*'], message: nestMessage },
    { group: ['ioredis', 'ioredis/*', 'pg', 'pg/*'], message: driverMessage },
  ];
  if (validation) patterns.push({ group: ['class-validator', 'class-validator/*', 'class-transformer', 'class-transformer/*'], message: validationMessage });
  const dynamic = [
    { selector: 'ImportExpression[source.value=/^@nestjs\\u002F/]', message: nestMessage },
    { selector: 'ImportExpression[source.value=/^(ioredis|pg)(\\u002F|$)/]', message: driverMessage },
  ];
  if (validation) dynamic.push({ selector: 'ImportExpression[source.value=/^class-(validator|transformer)(\\u002F|$)/]', message: validationMessage });
  return {
    'no-restricted-imports': ['error', { patterns }],
    'no-restricted-syntax': ['error', ...dynamic],
  };
}

const adapterFolders = ['memory', 'redis', 'postgres'];

export default defineConfig(
  { ignores: ['dist/', 'coverage/', '.stem-bench/', 'node_modules/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: parserCountingTypeImports },
    rules: {
      // A callback that reads a variable assigned once later (after setup) keeps it `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['{lib,test,e2e,bench,sample}/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.mjs', '.cjs'],
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${root}/tsconfig.json` })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: root,
          zones: [
            {
              target: './lib/core',
              from: ['./lib/adapters', './lib/nest', './lib/cli', './lib/testing', './lib/dashboard'],
              message: 'The core imports no adapter, Nest, CLI, dashboard or testing code.',
            },
            { target: './lib/adapters', from: ['./lib/nest', './lib/cli', './lib/dashboard'], message: 'Adapters import only the core.' },
            { target: './lib/nest', from: ['./lib/dashboard'], message: 'The Nest layer does not import the dashboard: the dashboard sits on top of it.' },
            {
              target: './lib/dashboard',
              from: ['./lib/cli', './lib/testing'],
              message: 'The dashboard builds on the core, the adapters and the Nest layer, not on the CLI or testing code.',
            },
            ...adapterFolders.map((folder) => ({
              target: `./lib/adapters/${folder}`,
              from: adapterFolders.filter((other) => other !== folder).map((other) => `./lib/adapters/${other}`),
              message: 'An adapter does not import another adapter: share code through the core.',
            })),
          ],
        },
      ],
    },
  },
  {
    files: ['lib/core/**'],
    rules: coreRestrictions({ validation: true }),
  },
  {
    // Tests, examples and the sample read JSON answers and mock freely; README examples show a value's type in a bare expression.
    files: ['{test,e2e,examples,sample}/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Nest's Reflector and decorator metadata APIs are typed with `Function`.
    files: ['lib/nest/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-function-type': 'off' },
  },
  {
    files: ['examples/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
  {
    files: ['lib/adapters/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@nestjs/*'], message: 'Adapters run without Nest: move Nest code to lib/nest/.' }] }],
      'no-restricted-syntax': ['error', { selector: 'ImportExpression[source.value=/^@nestjs\\u002F/]', message: 'Adapters run without Nest: move Nest code to lib/nest/.' }],
    },
  },
);
