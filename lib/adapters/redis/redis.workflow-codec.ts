import type { RunState, StepCheckpoint, WorkflowCancellationData, WorkflowRunError, WorkflowSignal, WorkflowStatus } from '../../core/workflow/run-state.js';

/** A run HASH as read back: `HGETALL` pairs plus the checkpoint count, from the run scripts. */
export type RawRunState = [fields: string[], cursor: number];

const num = (value: string | undefined): number | null => (value === undefined || value === '' ? null : Number(value));
const str = (value: string | undefined): string | null => (value === undefined || value === '' ? null : value);
const json = (value: string | undefined): unknown => (value === undefined || value === '' || value === 'null' ? null : JSON.parse(value));

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

/** The run HASH fields that make a {@link RunState} (see `scripts/workflow-lib.lua.ts`). */
interface RunFields {
  id?: string;
  wf?: string;
  st?: string;
  params?: string;
  parent?: string;
  cAt?: string;
  uAt?: string;
  result?: string;
  wt?: string;
  ra?: string;
  sus?: string;
  rd?: string;
  err?: string;
  own?: string;
  lx?: string;
  cp?: string;
  cd?: string;
  meta?: string;
  xa?: string;
}

/**
 * The fields of a raw run HASH (`HGETALL` pairs) that make a run.
 * NOTE: a switch into an object of one fixed shape: a run is read on every claim, end and wait,
 * and an object keyed by whatever the pairs hold is a slow dictionary to build and read.
 */
function fieldsOf(raw: readonly string[]): RunFields {
  const f: RunFields = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const value = raw[i + 1];
    switch (raw[i]) {
      case 'id':
        f.id = value;
        break;
      case 'wf':
        f.wf = value;
        break;
      case 'st':
        f.st = value;
        break;
      case 'params':
        f.params = value;
        break;
      case 'parent':
        f.parent = value;
        break;
      case 'cAt':
        f.cAt = value;
        break;
      case 'uAt':
        f.uAt = value;
        break;
      case 'result':
        f.result = value;
        break;
      case 'wt':
        f.wt = value;
        break;
      case 'ra':
        f.ra = value;
        break;
      case 'sus':
        f.sus = value;
        break;
      case 'rd':
        f.rd = value;
        break;
      case 'err':
        f.err = value;
        break;
      case 'own':
        f.own = value;
        break;
      case 'lx':
        f.lx = value;
        break;
      case 'cp':
        f.cp = value;
        break;
      case 'cd':
        f.cd = value;
        break;
      case 'meta':
        f.meta = value;
        break;
      case 'xa':
        f.xa = value;
        break;
    }
  }
  return f;
}

/**
 * The run a script returned, or `null` for a missing one or one whose retention passed at `now`
 * (Redis removes it by itself soon after; the store's clock decides what readers see).
 */
export function decodeRun(raw: RawRunState, now: number): RunState | null {
  const f = fieldsOf(raw[0]);
  if (f.id === undefined) return null;
  const expiresAt = num(f.xa);
  if (expiresAt !== null && expiresAt <= now) return null;
  const result = f.result;
  return {
    id: f.id,
    workflow: f.wf!,
    status: f.st as WorkflowStatus,
    cursor: Number(raw[1]),
    params: json(f.params),
    parentRunId: str(f.parent),
    createdAt: Number(f.cAt),
    updatedAt: Number(f.uAt),
    ...(result !== undefined && result !== '' ? { result: JSON.parse(result) as unknown } : {}),
    waitTopic: str(f.wt),
    resumeAt: num(f.ra),
    suspension: json(f.sus) as RunState['suspension'],
    resumeData: json(f.rd) as RunState['resumeData'],
    lastError: json(f.err) as RunState['lastError'],
    ownerId: str(f.own),
    leaseExpiresAt: num(f.lx),
    cancellationPolicy: json(f.cp) as RunState['cancellationPolicy'],
    cancellationData: json(f.cd) as RunState['cancellationData'],
    metadata: (json(f.meta) ?? {}) as RunState['metadata'],
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

/** The ARGV of an end (`op_end` of `scripts/workflow-ops.lua.ts`); `result` is {@link encodeValue} text. */
export function endArgs(
  status: 'completed' | 'failed' | 'cancelled' | 'retry',
  now: number,
  change: { readonly result?: string; readonly error?: WorkflowRunError; readonly cancellation?: WorkflowCancellationData; readonly ownerId?: string | undefined },
  retention: number,
  channel: string,
): (string | number)[] {
  const { error, cancellation } = change;
  return [
    status,
    now,
    change.ownerId ?? '',
    change.result ?? '',
    error ? JSON.stringify(error) : '',
    error?.step ?? '',
    cancellation ? JSON.stringify(cancellation) : '',
    retention,
    now + retention,
    channel,
  ];
}
