// Keeps the README's TypeScript blocks identical to the files under examples/ (which the tests
// type-check and run). Every ```ts block in README.md is preceded by a marker line
//   <!-- example: examples/quick-start.ts -->          (the whole file)
//   <!-- example: examples/canvas.ts#group -->         (the lines between `// #region group` and
//                                                       `// #endregion`, dedented)
// `node .ci/readme-examples.mjs` checks (exit 1 and a diff hint on a mismatch);
// `node .ci/readme-examples.mjs --write` rewrites the README blocks from the files.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MARKER = /^<!-- example: (\S+?)(?:#(\S+))? -->$/;

/** The text a marker names: a whole example file, or one region of it, dedented. */
export function exampleText(file, region) {
  const text = readFileSync(join(ROOT, file), 'utf8').replace(/\n$/, '');
  if (!region) return text;
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `// #region ${region}`);
  if (start < 0) throw new Error(`${file} has no "// #region ${region}"`);
  const end = lines.findIndex((l, i) => i > start && l.trim().startsWith('// #endregion'));
  if (end < 0) throw new Error(`${file}: region "${region}" has no "// #endregion"`);
  const body = lines.slice(start + 1, end).filter((l) => !/^\s*\/\/ #(end)?region\b/.test(l));
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return body.map((l) => l.slice(indent)).join('\n');
}

/** Every ```ts block of the README with the marker before it (or `null`) and its line number. */
export function readmeBlocks(readme) {
  const lines = readme.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```ts') continue;
    const end = lines.indexOf('```', i + 1);
    const marker = MARKER.exec(lines[i - 1] ?? '');
    blocks.push({ line: i + 1, start: i + 1, end, code: lines.slice(i + 1, end).join('\n'), file: marker?.[1] ?? null, region: marker?.[2] ?? null });
    i = end;
  }
  return blocks;
}

/** Problems found: blocks without a marker, and blocks that differ from their example. */
export function checkReadme(readme = readFileSync(join(ROOT, 'README.md'), 'utf8')) {
  const problems = [];
  for (const block of readmeBlocks(readme)) {
    if (!block.file) {
      problems.push(`README.md:${block.line}: a \`\`\`ts block without an "<!-- example: examples/<file>.ts[#region] -->" line before it`);
      continue;
    }
    const expected = exampleText(block.file, block.region);
    if (expected !== block.code) {
      problems.push(`README.md:${block.line}: differs from ${block.file}${block.region ? `#${block.region}` : ''}; run: node .ci/readme-examples.mjs --write`);
    }
  }
  return problems;
}

function write() {
  const path = join(ROOT, 'README.md');
  const lines = readFileSync(path, 'utf8').split('\n');
  for (const block of readmeBlocks(lines.join('\n')).reverse()) {
    if (block.file) lines.splice(block.start, block.end - block.start, ...exampleText(block.file, block.region).split('\n'));
  }
  writeFileSync(path, lines.join('\n'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--write')) write();
  const problems = checkReadme();
  for (const problem of problems) console.error(problem);
  process.exit(problems.length ? 1 : 0);
}
