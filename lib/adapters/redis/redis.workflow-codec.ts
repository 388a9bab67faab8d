import type { RunState, StepCheckpoint, WorkflowSignal, WorkflowStatus } from '../../core/workflow/run-state.js';

/** A run HASH as read back: `HGETALL` pairs plus the checkpoint count, from the run scripts. */
export type RawRunState = [fields: string[], cursor: number];

const num = (value: string | undefined): number | null => (value === undefined || value === '' ? null : Number(value));
const str = (value: string | undefined): string | null => (value === undefined || value === '' ? null : value);
const json = (value: string | undefined): unknown => (value === undefined || value === '' ? null : JSON.parse(value));

/** JSON text of a stored value; `''` stands for `undefined`. */
export function encodeValue(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value);
}

/** The value of {@link encodeValue} text. */
export function decodeValue(text: string): unknown {
  return text === '' ? undefined : JSON.parse(text);
}

/** JSON text of a payload that must be a JSON value (`undefined` becomes `null`). */
export function encodePayload(value: unknown): string {
  return value === undefined ? 'null' : JSON.stringify(value);
}

/** The fields of a raw run HASH. */
export function fieldsOf(raw: string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) fields.set(raw[i]!, raw[i + 1]!);
  return fields;
}

/**
 * The run a script returned, or `null` for a missing one or one whose retention passed at `now`
 * (Redis removes it by itself soon after; the store's clock decides what readers see).
 */
export function decodeRun(raw: RawRunState, now: number): RunState | null {
  const f = fieldsOf(raw[0]);
  if (!f.has('id')) return null;
  const expiresAt = num(f.get('xa'));
  if (expiresAt !== null && expiresAt <= now) return null;
  const result = f.get('result');
  return {
    id: f.get('id')!,
    workflow: f.get('wf')!,
    status: f.get('st') as WorkflowStatus,
    cursor: Number(raw[1]),
    params: json(f.get('params')),
    parentRunId: str(f.get('parent')),
    createdAt: Number(f.get('cAt')),
    updatedAt: Number(f.get('uAt')),
    ...(result !== undefined && result !== '' ? { result: JSON.parse(result) } : {}),
    waitTopic: str(f.get('wt')),
    resumeAt: num(f.get('ra')),
    suspension: json(f.get('sus')) as RunState['suspension'],
    resumeData: json(f.get('rd')) as RunState['resumeData'],
    lastError: json(f.get('err')) as RunState['lastError'],
    ownerId: str(f.get('own')),
    leaseExpiresAt: num(f.get('lx')),
    cancellationPolicy: json(f.get('cp')) as RunState['cancellationPolicy'],
    cancellationData: json(f.get('cd')) as RunState['cancellationData'],
    metadata: (json(f.get('meta')) ?? {}) as RunState['metadata'],
  };
}

/** A checkpoint from its stored `"<completedAt>:<meta>\n<value>"` entry (JSON text never holds a raw newline). */
export function decodeStep(name: string, entry: string, position: number): StepCheckpoint {
  const colon = entry.indexOf(':');
  const newline = entry.indexOf('\n', colon);
  const meta = entry.slice(colon + 1, newline);
  return {
    name,
    value: decodeValue(entry.slice(newline + 1)),
    position,
    completedAt: Number(entry.slice(0, colon)),
    ...(meta ? { meta: JSON.parse(meta) as Record<string, unknown> } : {}),
  };
}

/** A signal from its stored `"<seq>:<sentAt>:<name bytes>:<name><payload>"` entry. */
export function decodeSignal(runId: string, entry: string): WorkflowSignal {
  const match = /^(\d+):(\d+):(\d+):/.exec(entry)!;
  const rest = Buffer.from(entry.slice(match[0].length), 'utf8');
  const length = Number(match[3]);
  return {
    runId,
    name: rest.subarray(0, length).toString('utf8'),
    payload: JSON.parse(rest.subarray(length).toString('utf8')),
    seq: Number(match[1]),
    sentAt: Number(match[2]),
  };
}
