// Runs the README's "Tenant rate limits" example (examples/tenant-rate-limits.ts) and checks what
// the README says of it: a tenant over its budget waits, the other tenant does not.
import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { StemClient, StemMeta } from '../../lib/index.js';
import { Reports, TenantReportsModule } from '../../examples/tenant-rate-limits.js';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('README: tenant rate limits', () => {
  it('acme over 5/s waits (same attempt), globex runs at once; crm.sync budgets per account', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [TenantReportsModule] })
      .setLogger({ log() {}, warn() {}, error: console.error })
      .compile();
    closers.push(() => moduleRef.close());
    await moduleRef.init();
    const stem = moduleRef.get(StemClient);
    const reports = moduleRef.get(Reports);

    const acme = await reports.request('acme', 8);
    const globex = await reports.request('globex', 3);
    const results = await Promise.all([...acme, ...globex].map((id) => stem.waitForTask<string>(id, { timeout: 10_000 })));
    expect(results.map((r) => r.value)).toEqual([...Array.from({ length: 8 }, (_, i) => `acme 2026-0${i + 1}`), ...Array.from({ length: 3 }, (_, i) => `globex 2026-0${i + 1}`)]);
    expect(results.every((r) => r.status?.state === 'succeeded' && r.status.attempt === 0)).toBe(true);
    const delayed = (from: number, to: number) => results.slice(from, to).filter((r) => r.status!.meta[StemMeta.rateLimitedUntil] !== undefined).length;
    expect(delayed(0, 8)).toBeGreaterThan(0);
    expect(delayed(8, 11)).toBe(0);

    const syncs = await Promise.all(['a', 'a', 'a', 'b'].map((account) => stem.enqueue('crm.sync', { account })));
    const synced = await Promise.all(syncs.map((id) => stem.waitForTask<string>(id, { timeout: 10_000 })));
    expect(synced.map((r) => r.value)).toEqual(['synced a', 'synced a', 'synced a', 'synced b']);
    const waited = synced.map((r) => r.status!.meta[StemMeta.rateLimitedUntil] !== undefined);
    expect(waited.slice(0, 3)).toContain(true);
    expect(waited[3]).toBe(false);
  });
});
