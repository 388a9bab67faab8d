import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { InMemoryBroker, InMemoryResultBackend } from '../../lib/adapters/memory/index.js';
import { PostgresBroker, PostgresResultBackend } from '../../lib/adapters/postgres/index.js';
import { RedisResultBackend, RedisStreamsBroker } from '../../lib/adapters/redis/index.js';
import type { Envelope } from '../../lib/core/envelope.js';
import { makeEnvelope } from '../../lib/testing/contract-helpers.js';
import { adminQuery, POSTGRES_URL, recordingLogger } from '../postgres/postgres-test-kit.js';
import { REDIS_URL } from '../support/services.js';
import type { BadInputFixture } from './bad-input.suite.js';
import { deepEnvelope, malformedPatches, OK_TASK, rawEnvelope } from './bad-input.suite.js';

const deep = (depth: number) => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

/** The in-memory broker's bad-input fixture: malformed envelopes published as objects, unchecked. */
export function memoryBadInputFixture(): BadInputFixture {
  const broker = new InMemoryBroker();
  const backend = new InMemoryResultBackend();
  return {
    broker,
    backend,
    inject: async (queue, phase) => {
      const base = () => makeEnvelope(queue, { name: OK_TASK, args: { i: 'never' } });
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const bad: unknown[] =
        phase === 'before'
          ? malformedPatches().map((patch) => ({ ...base(), ...patch }))
          : [
              { ...base(), args: deep(10_000) },
              { ...base(), args: cyclic },
              { ...base(), args: { n: 10n } },
              { ...base(), id: 'dup-1', priority: 1.5 },
              { ...base(), id: 'dup-1', priority: 1.5 },
            ];
      for (const envelope of bad) await broker.publish(envelope as Envelope);
      return { malformed: bad.length, valid: [] };
    },
    // NOTE: the memory broker stores objects under their own `queue` field, so only objects naming
    // `queue` can be stored for it: not text (bad JSON), not values whose queue is missing or wrong.
    injectRaw: async (queue, items) => {
      const stored: boolean[] = [];
      for (const item of items) {
        const value = item.value as { queue?: unknown } | null | undefined;
        if (typeof value !== 'object' || value === null || value.queue !== queue) stored.push(false);
        else
          stored.push(
            await broker.publish(item.value as Envelope).then(
              () => true,
              () => false,
            ),
          );
      }
      return stored;
    },
    checkDeadLetters: (_queue, dead) => {
      expect(dead.filter((d) => d.envelope.id === 'dup-1')).toHaveLength(2);
    },
    close: async () => {
      await broker.close();
      await backend.close();
    },
  };
}

/** The Redis bad-input fixture: raw entries written with XADD into the queue's priority streams. */
export async function redisBadInputFixture(prefix: string): Promise<BadInputFixture> {
  const raw = new Redis(REDIS_URL);
  const broker = await RedisStreamsBroker.connect(REDIS_URL, { prefix });
  const backend = await RedisResultBackend.connect(REDIS_URL, { prefix });
  const key = (queue: string, suffix: string) => `${prefix}:{${queue}}:${suffix}`;
  const stream = (queue: string, p: number) => key(queue, `stream:p${p}`);
  return {
    broker,
    backend,
    inject: async (queue, phase) => {
      const valid = (label: string) => rawEnvelope(queue, { args: { i: label } });
      if (phase === 'before') {
        // the same entry id on two priority streams, and two entries sharing a task id
        await raw.xadd(stream(queue, 0), '1-1', 'e', '{not json', 'v', '');
        await raw.xadd(stream(queue, 4), '1-1', 'e', '{not json either', 'v', '');
        await raw.xadd(stream(queue, 6), '*', 'e', rawEnvelope(queue, { id: 'dup-1', priority: 1.5 }), 'v', '');
        await raw.xadd(stream(queue, 6), '*', 'e', rawEnvelope(queue, { id: 'dup-1', priority: 1.5 }), 'v', '');
        const patches = malformedPatches();
        for (const [i, patch] of patches.entries()) await raw.xadd(stream(queue, i % 10), '*', 'e', rawEnvelope(queue, patch), 'v', '');
        return { malformed: 4 + patches.length, valid: [] };
      }
      // NOTE: a lease field that is not a lease, in the stream the valid tasks of priority 9 share.
      await raw.xadd(stream(queue, 9), '*', 'e', rawEnvelope(queue, { args: { i: 'lease-nan' } }), 'v', 'nan');
      await raw.xadd(stream(queue, 9), '*', 'e', rawEnvelope(queue, { args: { i: 'lease-inf' } }), 'v', 'inf');
      await raw.xadd(stream(queue, 9), '*', 'e', rawEnvelope(queue, { args: { i: 'lease-0' } }), 'v', '0');
      await raw.xadd(stream(queue, 2), '*', 'e', deepEnvelope(queue, 10_000), 'v', '');
      await raw.xadd(stream(queue, 3), '*', 'x', 'no envelope field');
      await raw.xadd(stream(queue, 5), '*', 'e', valid('raw-valid'), 'v', '5000');
      await raw.zadd(key(queue, 'delayed'), 0, 'not a delayed member');
      await raw.zadd(key(queue, 'leases'), 0, 'x:not-a-lease');
      return { malformed: 6, valid: ['raw-valid'] };
    },
    injectRaw: async (queue, items) => {
      const stored: boolean[] = [];
      for (const item of items) {
        if (item.text === undefined && !item.fields) {
          stored.push(false);
          continue;
        }
        const fields = item.fields ?? ['e', item.text!, 'v', item.lease ?? ''];
        await raw.xadd(stream(queue, ((item.priority % 10) + 10) % 10), '*', ...fields);
        stored.push(true);
      }
      return stored;
    },
    stranded: async (queue) => {
      let pending = 0;
      for (let p = 0; p < 10; p++) {
        const reply = (await raw.xpending(stream(queue, p), 'stem-workers').catch(() => [0])) as [number];
        pending += Number(reply[0] ?? 0);
      }
      return pending + (await raw.zcard(key(queue, 'leases'))) + (await raw.zcard(key(queue, 'delayed')));
    },
    checkDeadLetters: async (queue, dead) => {
      const ids = dead.map((d) => d.envelope.id);
      expect(ids.filter((id) => id === 'malformed:0:1-1' || id === 'malformed:4:1-1').sort()).toEqual(['malformed:0:1-1', 'malformed:4:1-1']);
      expect(ids.filter((id) => id === 'dup-1')).toHaveLength(2);
      expect((await broker.getDeadLetter(queue, 'dup-1'))?.reason).toBe('malformed-envelope');
      const nan = dead.find((d) => JSON.stringify(d.meta).includes('lease field \\"nan\\"'));
      expect(nan?.meta.raw).toContain('lease-nan');
    },
    close: async () => {
      await broker.close();
      await backend.close();
      raw.disconnect();
    },
  };
}

/** The Postgres bad-input fixture: raw rows inserted into the schema's `jobs` table. */
export async function postgresBadInputFixture(schema: string): Promise<BadInputFixture> {
  const longId = randomBytes(10_000).toString('hex');
  const insert = (rows: { taskId: string; queue: string; envelope: string; visibilityMs?: number | null; priority?: number }[]) =>
    adminQuery(
      `INSERT INTO "${schema}".jobs (task_id, queue, priority, visibility_ms, envelope)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::json[])`,
      [rows.map((r) => r.taskId), rows.map((r) => r.queue), rows.map((r) => r.priority ?? 0), rows.map((r) => r.visibilityMs ?? null), rows.map((r) => r.envelope)],
    );
  const logger = recordingLogger();
  const broker = await PostgresBroker.connect(POSTGRES_URL, { schema, logger });
  const backend = await PostgresResultBackend.connect(POSTGRES_URL, { schema, logger });
  return {
    broker,
    backend,
    inject: async (queue, phase) => {
      if (phase === 'before') {
        const patches = malformedPatches();
        await insert([
          { taskId: 'pg-hello', queue, envelope: '{"hello": "world"}' },
          { taskId: 'dup-1', queue, envelope: rawEnvelope(queue, { id: 'dup-1', priority: 1.5 }) },
          { taskId: 'dup-1', queue, envelope: rawEnvelope(queue, { id: 'dup-1', priority: 1.5 }) },
          ...patches.map((patch, i) => ({ taskId: `pg-patch-${i}`, queue, envelope: rawEnvelope(queue, patch), priority: i % 10 })),
        ]);
        return { malformed: 3 + patches.length, valid: [] };
      }
      // NOTE: the 10 kB task id is too long for the dead letters' index, so only a sanitized dead letter fits.
      const splitPair = `{"junk": "${'a'.repeat(9_990)}\u{1F600}"}`;
      await insert([
        { taskId: longId, queue, envelope: '{"x": 1}', priority: 9 },
        { taskId: 'pg-deep', queue, envelope: deepEnvelope(queue, 10_000), priority: 9 },
        { taskId: 'pg-split', queue, envelope: splitPair, priority: 9 },
        { taskId: 'pg-col-0', queue, envelope: rawEnvelope(queue, { args: { i: 'col-0', slowMs: 300 } }), visibilityMs: 0, priority: 9 },
      ]);
      return { malformed: 3, valid: ['col-0'] };
    },
    // NOTE: rows go in one by one: a row the database refuses (text that is not JSON) is reported as not stored.
    injectRaw: async (queue, items) => {
      const stored: boolean[] = [];
      for (const [i, item] of items.entries()) {
        if (item.text === undefined) {
          stored.push(false);
          continue;
        }
        const row = { taskId: item.taskId ?? `fuzz-row-${i}`, queue, envelope: item.text, visibilityMs: item.visibilityMs ?? null, priority: item.priority };
        stored.push(
          await insert([row]).then(
            () => true,
            () => false,
          ),
        );
      }
      return stored;
    },
    checkDeadLetters: async (queue, dead) => {
      expect(dead.filter((d) => d.envelope.id === 'dup-1')).toHaveLength(2);
      const errorOf = (entry: { meta: Record<string, unknown> } | null) => (entry?.meta.error as { message?: string } | undefined)?.message;
      expect(errorOf(await broker.getDeadLetter(queue, 'pg-patch-2'))).toMatch(/visibilityTimeout must be/);
      const sanitized = await broker.getDeadLetter(queue, longId.slice(0, 256));
      expect(sanitized?.meta.notStorable).toMatch(/index row/);
      expect(errorOf(sanitized)).toMatch(/id must be a non-empty string/);
      expect(Buffer.from(String(sanitized?.meta.original), 'base64').toString('utf8')).toContain(longId);
      expect((await broker.getDeadLetter(queue, 'pg-split'))?.meta.raw).toMatch(/^\{"junk": "a+$/);
    },
    close: async () => {
      await broker.close();
      await backend.close();
    },
  };
}
