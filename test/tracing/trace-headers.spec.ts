import { context, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { computeUniqueKey, readTraceContext, StemTracing, traceHeadersOf } from '../../lib/core/index.js';
import { memoryTracing, named } from '../support/tracing.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('W3C trace context headers', () => {
  it('reads a traceparent and tracestate, and writes them back unchanged', () => {
    const headers = { traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'vendor=abc' };
    const read = readTraceContext(headers)!;
    expect(read).toMatchObject({ traceId: TRACE, spanId: SPAN, traceFlags: 1, isRemote: true });
    expect(traceHeadersOf(read)).toEqual(headers);
  });

  it.each([
    ['no header', {}],
    ['garbage', { traceparent: 'not-a-traceparent' }],
    ['version ff', { traceparent: `ff-${TRACE}-${SPAN}-01` }],
    ['all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-${SPAN}-01` }],
    ['upper-case hex', { traceparent: `00-${TRACE.toUpperCase()}-${SPAN}-01` }],
    ['version 00 with extra fields', { traceparent: `00-${TRACE}-${SPAN}-01-extra` }],
  ])('ignores %s', (_what, headers: Record<string, string>) => {
    expect(readTraceContext(headers)).toBeUndefined();
  });

  it("the trace context never changes a unique task's key (child tasks of different parents still deduplicate)", () => {
    const base = { task: 'sync', queue: 'q', args: { a: 1 }, headers: { tenant: 't1' } };
    const traced = { ...base, headers: { ...base.headers, traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'v=1' } };
    expect(computeUniqueKey(traced)).toBe(computeUniqueKey(base));
    expect(computeUniqueKey({ ...base, headers: { tenant: 't2' } })).not.toBe(computeUniqueKey(base));
  });

  it('a malformed traceparent sent by a caller starts a new trace instead of failing the enqueue', () => {
    const { provider, spans } = memoryTracing();
    const send = new StemTracing({ tracerProvider: provider }).startSend({
      id: 't1',
      name: 'x',
      args: {},
      headers: { traceparent: 'garbage', tracestate: 'stale=1' },
      queue: 'q',
      priority: 0,
      attempt: 0,
      enqueuedAt: 0,
      meta: {},
    })!;
    send.end();
    const [span] = spans();
    expect(span!.parentSpanId).toBeUndefined();
    expect(send.envelope.headers).toEqual({ traceparent: `00-${span!.traceId}-${span!.spanId}-01` });
  });
});

describe('Workflow spans', () => {
  it('traceWorkflow and traceStep nest workflow <name> and step <name> under the active span; a failing step ends ERROR', async () => {
    const { provider, spans } = memoryTracing();
    const tracing = new StemTracing({ tracerProvider: provider });
    const outer = provider.getTracer('test').startSpan('process workflows');
    await context.with(trace.setSpan(context.active(), outer), () =>
      tracing.traceWorkflow({ name: 'checkout', runId: 'run-1' }, async () => {
        await tracing.traceStep({ workflow: 'checkout', runId: 'run-1', name: 'charge' }, async () => 'charged');
        await expect(
          tracing.traceStep({ workflow: 'checkout', runId: 'run-1', name: 'ship' }, async () => {
            throw new RangeError('no stock');
          }),
        ).rejects.toThrow('no stock');
      }),
    );
    outer.end();
    const [workflow] = named(spans(), 'workflow checkout');
    const [charge] = named(spans(), 'step charge');
    const [ship] = named(spans(), 'step ship');
    expect(workflow).toMatchObject({ parentSpanId: outer.spanContext().spanId, attributes: { 'stem.workflow.name': 'checkout', 'stem.workflow.run_id': 'run-1' } });
    expect(charge).toMatchObject({ parentSpanId: workflow!.spanId, status: 0, attributes: { 'stem.workflow.step': 'charge' } });
    expect(ship).toMatchObject({ parentSpanId: workflow!.spanId, status: 2, attributes: { 'error.type': 'RangeError' } });
  });
});
