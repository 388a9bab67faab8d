import type { IncomingMessage } from 'node:http';
import type { GroupStore } from '../core/canvas/group-store.js';
import type { Broker } from '../core/contracts/broker.js';
import type { ControlStore } from '../core/contracts/control-store.js';
import type { ResultBackend } from '../core/contracts/result-backend.js';
import type { ScheduleStore } from '../core/contracts/schedule-store.js';
import type { ControlChannel } from '../core/control/control-channel.js';
import type { Stem } from '../core/stem.js';
import type { WorkflowStore } from '../core/workflow/workflow-store.js';
import type { DashboardAuditLog } from './dashboard-audit.js';

/**
 * What a payload shown by the dashboard is: task arguments, a task result, a task's or dead
 * letter's meta, an error (`{ type, message, stack? }`, of a task, a dead letter or a workflow
 * run), or workflow data (params, checkpoint values, the suspension of a run and its
 * cancellation data).
 */
export interface RedactContext {
  readonly kind: 'args' | 'result' | 'meta' | 'error' | 'params' | 'checkpoint' | 'suspension' | 'cancellation';
  /** Task or workflow name, when known. */
  readonly name?: string;
}

/** Rewrites a payload before the dashboard shows it (hide secrets, personal data). */
export type DashboardRedact = (payload: unknown, context: RedactContext) => unknown;

/**
 * Decides whether a request may use the dashboard. Resolve `false` to refuse (403), `true` to
 * allow, or a string to allow and record that name as the user in the audit list.
 */
export type DashboardGuard = (req: IncomingMessage) => boolean | string | Promise<boolean | string>;

/** The stores the dashboard reads and acts on. Only `broker` is required; pages without their store say so. */
export interface DashboardSources {
  readonly broker: Broker;
  readonly backend?: ResultBackend | null;
  /** Revocations, paused queues and worker heartbeats. */
  readonly controlStore?: ControlStore | null;
  /** The control channel for worker commands (shutdown, and faster pause/resume/revoke). @default a broadcast channel on `broker` when it has one */
  readonly channel?: ControlChannel | null;
  readonly scheduleStore?: ScheduleStore | null;
  readonly workflowStore?: WorkflowStore | null;
  /**
   * Where groups and chords are recorded: with it, the group and chord ids on a task's page link
   * to a page of the group's members and chord state (`/groups/<id>`); without it they are plain
   * text.
   */
  readonly groupStore?: GroupStore | null;
  /**
   * The producer used for replays (so replayed tasks are signed and get a `queued` status) and
   * for "run now". @default a producer on `broker` and `backend` without signing
   */
  readonly producer?: Stem;
}

/** Options of {@link createDashboardHandler}. */
export interface DashboardOptions {
  /** URL path the dashboard is served under (no trailing slash). @default '' (the root) */
  readonly basePath?: string;
  /**
   * Who may use the dashboard. Without guards the dashboard answers only requests from the
   * loopback interface that came through no proxy, and tells anyone else why it refused.
   */
  readonly guards?: readonly DashboardGuard[];
  /** Hide every action and refuse every mutating request. @default false */
  readonly readOnly?: boolean;
  /**
   * Rewrites what the pages show of payloads: arguments, results, meta, error messages and
   * stacks, workflow params, checkpoints, suspensions and cancellation data. With it, a search by
   * arguments matches only what the redacted arguments still show, so it cannot reveal a hidden
   * value. @default shown as stored
   */
  readonly redact?: DashboardRedact;
  /** Where actions are recorded. @default an in-memory list of the last 1,000 actions */
  readonly audit?: DashboardAuditLog;
  /** Queues to show even before any task or worker used them. */
  readonly queues?: readonly string[];
  /** Interval of the live updates (server-sent events) in ms. @default 2000 */
  readonly liveInterval?: number;
  /** Secret the CSRF tokens are derived from. @default random per process */
  readonly csrfSecret?: string;
  /** Page title. @default 'Stem' */
  readonly title?: string;
}
