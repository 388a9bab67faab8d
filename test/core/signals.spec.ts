import { describe, expect, expectTypeOf, it } from 'vitest';
import { ConfigurationError, type Envelope, STEM_SIGNAL_NAMES, type StemSignalMap, type StemSignalName, StemSignals } from '../../lib/core/index.js';

const envelope = (name: string, queue = 'default'): Envelope => ({ id: `${name}-id`, name, args: {}, headers: {}, queue, priority: 0, attempt: 0, enqueuedAt: 0, meta: {} });
const failed = (name: string, queue = 'default', workerId = 'w1'): StemSignalMap['task-failed'] => ({
  envelope: envelope(name, queue),
  workerId,
  error: { type: 'Error', message: `${name} broke`, retryable: false },
});

describe('StemSignals', () => {
  it('lists every signal of the map once', () => {
    expectTypeOf<Exclude<StemSignalName, (typeof STEM_SIGNAL_NAMES)[number]>>().toEqualTypeOf<never>();
    expect(new Set(STEM_SIGNAL_NAMES).size).toBe(STEM_SIGNAL_NAMES.length);
  });

  it('calls listeners in the order added, with the payload, until unsubscribed', () => {
    const signals = new StemSignals();
    const seen: string[] = [];
    const offA = signals.on('task-failed', (p) => void seen.push(`a:${p.envelope.name}:${p.error.message}`));
    signals.on('task-failed', (p) => void seen.push(`b:${p.envelope.name}`));
    signals.emit('task-failed', failed('x'));
    offA();
    signals.emit('task-failed', failed('y'));
    expect(seen).toEqual(['a:x:x broke', 'b:x', 'b:y']);
    expect(signals.listenerCount('task-failed')).toBe(1);
  });

  it('filters by predicate and by task, queue and worker id', () => {
    const signals = new StemSignals();
    const byPredicate: string[] = [];
    const byFields: string[] = [];
    signals.on('task-failed', (p) => void byPredicate.push(p.envelope.name), { filter: (p) => p.envelope.name.startsWith('billing.') });
    signals.on('task-failed', (p) => void byFields.push(`${p.envelope.name}@${p.workerId}`), { filter: { queue: ['q1', 'q2'], workerId: 'w2' } });
    signals.emit('task-failed', failed('billing.charge', 'q1', 'w1'));
    signals.emit('task-failed', failed('email.send', 'q2', 'w2'));
    signals.emit('task-failed', failed('email.send', 'q3', 'w2'));
    expect(byPredicate).toEqual(['billing.charge']);
    expect(byFields).toEqual(['email.send@w2']);
  });

  it('once removes the listener after the first payload that passes its filter', async () => {
    const signals = new StemSignals();
    const seen: string[] = [];
    signals.on('task-failed', (p) => void seen.push(p.envelope.name), { once: true, filter: { task: 'b' } });
    const next = signals.next('task-failed', { task: 'c' });
    signals.emit('task-failed', failed('a'));
    signals.emit('task-failed', failed('b'));
    signals.emit('task-failed', failed('b'));
    signals.emit('task-failed', failed('c'));
    expect(seen).toEqual(['b']);
    expect((await next).envelope.name).toBe('c');
    expect(signals.listenerCount('task-failed')).toBe(0);
  });

  it('reports a throwing or rejecting listener and still calls the others', async () => {
    const reported: [string, StemSignalName][] = [];
    const signals = new StemSignals({ onListenerError: (error, signal) => void reported.push([(error as Error).message, signal]) });
    const seen: string[] = [];
    signals.on('task-failed', () => {
      throw new Error('sync boom');
    });
    signals.on('task-failed', async () => {
      throw new Error('async boom');
    });
    signals.on('task-failed', (p) => void seen.push(p.envelope.name));
    expect(() => signals.emit('task-failed', failed('x'))).not.toThrow();
    expect(seen).toEqual(['x']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reported).toEqual([
      ['sync boom', 'task-failed'],
      ['async boom', 'task-failed'],
    ]);
  });

  it('emits only the enabled signals: a list, all but the disabled ones, or none', () => {
    const only = new StemSignals({ enabled: ['task-failed'] });
    const allBut = new StemSignals({ enabled: { disabled: ['task-failed'] } });
    const none = new StemSignals({ enabled: false });
    const seen: string[] = [];
    for (const [label, hub] of [
      ['only', only],
      ['allBut', allBut],
      ['none', none],
    ] as const) {
      hub.on('task-failed', () => void seen.push(`${label}:failed`));
      hub.on('task-expired', () => void seen.push(`${label}:expired`));
      hub.emit('task-failed', failed('x'));
      hub.emit('task-expired', { envelope: envelope('x'), workerId: 'w1' });
    }
    expect(seen).toEqual(['only:failed', 'allBut:expired']);
    expect(only.isEnabled('task-expired')).toBe(false);
    expect(only.has('task-failed')).toBe(true);
    expect(none.has('task-failed')).toBe(false);
  });

  it('reads STEM_SIGNALS_ENABLED and STEM_SIGNALS_DISABLED', () => {
    const hub = StemSignals.fromEnv({ STEM_SIGNALS_ENABLED: 'task-failed, task-retry', STEM_SIGNALS_DISABLED: 'task-retry' });
    expect(STEM_SIGNAL_NAMES.filter((name) => hub.isEnabled(name))).toEqual(['task-failed']);
    expect(StemSignals.fromEnv({ STEM_SIGNALS_ENABLED: 'none' }).isEnabled('task-failed')).toBe(false);
    expect(StemSignals.fromEnv({}).isEnabled('worker-ready')).toBe(true);
  });

  it('refuses names that are not signals, in listeners and in the configuration', () => {
    const signals = new StemSignals();
    expect(() => signals.on('task:failed' as StemSignalName, () => undefined)).toThrow(ConfigurationError);
    expect(() => new StemSignals({ enabled: ['task-fialed' as StemSignalName] })).toThrow(/"task-fialed" is not a Stem signal/);
  });
});
