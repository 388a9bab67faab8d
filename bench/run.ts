/**
 * Benchmark entry point: `npm run bench` runs every suite whose service answers;
 * `npm run bench -- memory redis` runs the named ones. `dashboard` (operations queries on a
 * million statuses, see `dashboard-queries.ts`) runs only when named.
 */
type Suite = { name: string; load: () => Promise<{ run: () => Promise<void> }> };

const load = (name: string) => () => import(new URL(`./${name}.bench.js`, import.meta.url).href) as Promise<{ run: () => Promise<void> }>;
const suites: Suite[] = ['memory', 'redis', 'postgres', 'threads', 'workflows'].map((name) => ({ name, load: load(name) }));
const namedOnly: Suite[] = [{ name: 'dashboard', load: () => import(new URL('./dashboard-queries.js', import.meta.url).href) as Promise<{ run: () => Promise<void> }> }];

const wanted = process.argv.slice(2);
for (const suite of [...suites, ...namedOnly]) {
  if (wanted.length > 0 ? !wanted.includes(suite.name) : namedOnly.includes(suite)) continue;
  let mod: { run: () => Promise<void> };
  try {
    mod = await suite.load();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && wanted.length === 0) continue;
    throw error;
  }
  console.log(`\n=== ${suite.name} ===`);
  await mod.run();
}
