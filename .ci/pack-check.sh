#!/usr/bin/env bash
# Packs nestjs-stem as npm would publish it, checks the tarball's contents, installs it into a
# fresh ESM Nest app and a fresh CommonJS Nest app (.ci/consumer-apps/, made like `nest new`
# makes them) with only the peers a memory-broker user installs (no @nestjs/microservices, no
# ioredis, no pg), compiles each with strict tsc (no skipLibCheck) and runs its
# enqueue -> worker -> result check. Also proves `nestjs-stem/core` loads no @nestjs/* package.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d "${TMPDIR:-/tmp}/stem-pack-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

step() { printf '\n--> [%ss] %s\n' "$SECONDS" "$*"; }
fail() { echo "pack-check: $*" >&2; exit 1; }

step "npm pack (prepack builds dist/lib)"
npm pack --silent --pack-destination "$WORK" >"$WORK/pack.out"
TARBALL="$WORK/$(tail -n 1 "$WORK/pack.out")"
[ -f "$TARBALL" ] || fail "npm pack did not write a tarball: $(cat "$WORK/pack.out")"
tar -tzf "$TARBALL" | sed 's#^package/##' | sort >"$WORK/files.txt"
for file in LICENSE README.md package.json dist/lib/index.js dist/lib/index.d.ts dist/lib/core/index.js \
  dist/lib/nest/microservices/index.js dist/lib/adapters/redis/index.js dist/lib/adapters/postgres/index.js \
  dist/lib/testing/index.js dist/lib/dashboard/index.js dist/lib/cli/main.js dist/lib/core/worker/threads/thread-entry.js dist/lib/nest/threads/stem-thread-app.js; do
  grep -qx "$file" "$WORK/files.txt" || fail "the tarball lacks $file"
done
if grep -E '\.map$|^dist/(sample|bench|test|e2e)/|\.ts$' "$WORK/files.txt" | grep -v '\.d\.ts$'; then
  fail "the tarball ships the files above (source maps, or non-library files)"
fi
grep -q 'Copyright (c) 2026 the Stem for NestJS authors' <(tar -xzOf "$TARBALL" package/LICENSE) || fail "LICENSE lacks the copyright line"
echo "$(wc -l <"$WORK/files.txt") files, $(du -k "$TARBALL" | cut -f1) kB"

# NOTE: both apps run the same source (.ci/consumer-apps/main.ts); only their package.json and
# tsconfig.json differ, which is what decides ESM or CommonJS.
for kind in esm cjs; do
  cp -r "$ROOT/.ci/consumer-apps/$kind" "$WORK/$kind"
  rm -rf "$WORK/$kind/node_modules" "$WORK/$kind/dist"
  mkdir -p "$WORK/$kind/src"
  cp "$ROOT/.ci/consumer-apps/main.ts" "$WORK/$kind/src/main.ts"
done

step "npm install the tarball into the ESM app, then the CommonJS app (same dependencies, from npm's cache)"
install() {
  (cd "$WORK/$1" && npm install --no-audit --no-fund --prefer-offline --loglevel=error "$TARBALL" >"$WORK/$1.install.log" 2>&1) ||
    { cat "$WORK/$1.install.log"; fail "npm install failed in the $1 app"; }
}
install esm
# NOTE: both apps declare the same dependencies; seeding the second from the first's tree keeps
# the check fast, and npm install still resolves and links the tarball in it as in a fresh app.
cp -r "$WORK/esm/node_modules" "$WORK/cjs/node_modules"
install cjs
for kind in esm cjs; do
  for absent in @nestjs/microservices ioredis pg @types/pg; do
    [ ! -e "$WORK/$kind/node_modules/$absent" ] || fail "$absent got installed in the $kind app; the check needs it absent"
  done
done

step "strict tsc in both apps (no skipLibCheck), in parallel"
(cd "$WORK/esm" && npx tsc -p tsconfig.json >"$WORK/esm.tsc.log" 2>&1) & esm_tsc=$!
(cd "$WORK/cjs" && npx tsc -p tsconfig.json >"$WORK/cjs.tsc.log" 2>&1 && npx tsc -p tsconfig.node10.json >>"$WORK/cjs.tsc.log" 2>&1) & cjs_tsc=$!
wait "$esm_tsc" || { cat "$WORK/esm.tsc.log"; fail "the ESM app does not compile against the package"; }
wait "$cjs_tsc" || { cat "$WORK/cjs.tsc.log"; fail "the CommonJS app does not compile against the package"; }

for kind in esm cjs; do
  step "$kind app: enqueue -> worker -> result"
  (cd "$WORK/$kind" && node dist/main.js) || fail "the $kind app's enqueue -> worker -> result check failed"
done

step "cjs app built with module commonjs + moduleResolution node10 (older Nest starters)"
(cd "$WORK/cjs" && node dist-node10/main.js) || fail "the node10-resolution build of the CommonJS app failed"

step "nestjs-stem/core loads no @nestjs/* package (import and require)"
FORBID="$ROOT/test/core/fixtures/forbid-imports.mjs"
(cd "$WORK/esm" && node --import "$FORBID" --input-type=module -e "const core = await import('nestjs-stem/core'); if (typeof core.Worker !== 'function') process.exit(1);") ||
  fail "importing nestjs-stem/core loaded a forbidden package"
(cd "$WORK/cjs" && node -e "
  const core = require('nestjs-stem/core');
  const loaded = Object.keys(require.cache).filter((f) => f.includes('/node_modules/@nestjs/'));
  if (typeof core.Worker !== 'function' || loaded.length) { console.error('loaded:', loaded); process.exit(1); }
") || fail "require('nestjs-stem/core') loaded @nestjs/*"

step "nestjs-stem/dashboard loads in the ESM and CommonJS apps"
(cd "$WORK/esm" && node --input-type=module -e "const d = await import('nestjs-stem/dashboard'); if (typeof d.createDashboardHandler !== 'function' || typeof d.StemDashboardModule !== 'function') process.exit(1);") ||
  fail "importing nestjs-stem/dashboard failed"
(cd "$WORK/cjs" && node -e "const d = require('nestjs-stem/dashboard'); if (typeof d.createDashboardHandler !== 'function') process.exit(1);") ||
  fail "require('nestjs-stem/dashboard') failed"

step "pack-check passed"
