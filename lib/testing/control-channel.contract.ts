import { afterEach, describe, expect, it } from 'vitest';
import type { ControlChannel, ControlSubscription } from '../core/control/control-channel.js';
import type { ControlRequest } from '../core/control/control.messages.js';
import { uniqueName } from './contract-helpers.js';

/** One end of the control channel on its own connection, and how to release it. */
export interface ControlChannelEnd {
  readonly channel: ControlChannel;
  close(): Promise<void>;
}

/** How the control channel suite gets ends; every call must open a separate connection where the adapter has connections. */
export interface ControlChannelContractFactory {
  /** @param namespace keeps the test's traffic apart from other tests' */
  open(namespace: string): Promise<ControlChannelEnd>;
}

/**
 * The behaviours every {@link ControlChannel} must show: a command without targets reaches
 * every listener on every connection, exactly once each; targets narrow it; each worker replies
 * once; a failing handler replies with its error; with nobody listening the request ends empty
 * at its timeout.
 */
export function runControlChannelContractTests(adapter: string, factory: ControlChannelContractFactory): void {
  describe(`ControlChannel contract: ${adapter}`, () => {
    const ends: ControlChannelEnd[] = [];
    const subs: ControlSubscription[] = [];
    afterEach(async () => {
      for (const sub of subs.splice(0)) await sub.close();
      for (const end of ends.splice(0)) await end.close();
    });
    const open = async (namespace: string) => {
      const end = await factory.open(namespace);
      ends.push(end);
      return end.channel;
    };
    const workers = async (namespace: string, ids: string[], handle: (id: string, request: ControlRequest) => unknown) => {
      const calls = new Map<string, number>(ids.map((id) => [id, 0]));
      for (const id of ids) {
        const channel = await open(namespace);
        subs.push(
          await channel.listen(id, (request) => {
            calls.set(id, calls.get(id)! + 1);
            return handle(id, request);
          }),
        );
      }
      return calls;
    };

    it('fans a broadcast out to every worker on its own connection; each replies once', async () => {
      const ns = uniqueName('ctl');
      const calls = await workers(ns, ['w1', 'w2', 'w3'], (id) => ({ me: id }));
      const client = await open(ns);
      const replies = await client.request('ping', {}, { timeout: 3_000, expect: 3 });
      expect(replies.map((r) => [r.workerId, r.ok, r.payload])).toEqual([
        ['w1', true, { me: 'w1' }],
        ['w2', true, { me: 'w2' }],
        ['w3', true, { me: 'w3' }],
      ]);
      expect([...calls.values()]).toEqual([1, 1, 1]);
    });

    it('reaches only the named workers', async () => {
      const ns = uniqueName('ctl');
      const calls = await workers(ns, ['w1', 'w2', 'w3'], () => 'ok');
      const client = await open(ns);
      const replies = await client.request('stats', {}, { workers: ['w3', 'w1'], timeout: 3_000 });
      expect(replies.map((r) => r.workerId)).toEqual(['w1', 'w3']);
      await new Promise((r) => setTimeout(r, 100));
      expect(Object.fromEntries(calls)).toEqual({ w1: 1, w2: 0, w3: 1 });
    });

    it('carries the payload and turns a handler error into an error reply', async () => {
      const ns = uniqueName('ctl');
      const seen: unknown[] = [];
      await workers(ns, ['w1'], (_, request) => {
        seen.push(request.payload);
        throw new TypeError('cannot pause that');
      });
      const client = await open(ns);
      const replies = await client.request('pause', { queue: 'emails' }, { timeout: 3_000, expect: 1 });
      expect(seen).toEqual([{ queue: 'emails' }]);
      expect(replies).toEqual([expect.objectContaining({ workerId: 'w1', ok: false, error: { type: 'TypeError', message: 'cannot pause that' } })]);
    });

    it('ends empty at the timeout when no worker listens, and keeps namespaces apart', async () => {
      const ns = uniqueName('ctl');
      await workers(uniqueName('elsewhere'), ['w1'], () => 'wrong namespace');
      const client = await open(ns);
      const started = Date.now();
      expect(await client.request('ping', {}, { timeout: 300 })).toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    });
  });
}
