import { StemScheduler } from '../core/beat/stem-scheduler.js';
import { type Broker, type DeadLetterAdmin, hasBroadcast, requireBrokerCapability } from '../core/contracts/broker.js';
import { BroadcastControlChannel } from '../core/control/broadcast-control-channel.js';
import { ControlClient } from '../core/control/control-client.js';
import { Stem } from '../core/stem.js';
import type { ShutdownMode } from '../core/worker/worker.options.js';
import { isTerminalWorkflowStatus } from '../core/workflow/run-state.js';
import { parseCheckpointName } from '../core/workflow/workflow.constants.js';
import { WorkflowRuntime } from '../core/workflow/workflow-runtime.js';
import type { WorkflowStore } from '../core/workflow/workflow-store.js';
import { type DeadLetterSelection, selectionFilter } from './dashboard-dead-letters.js';
import type { DashboardSources } from './dashboard.options.js';
import { DashboardActionError } from './errors/dashboard-action.error.js';

/** What an action did, for the notice shown and the audit list. */
export interface ActionOutcome {
  readonly count: number;
  readonly message: string;
  /** For dry runs: the items that would be changed. */
  readonly preview?: readonly string[];
}

const CONTROL_TIMEOUT_MS = 1_500;

/** The dashboard's mutations, each through the core's own operations (producer replays, control client, scheduler, workflow runtime). */
export class DashboardActions {
  private readonly producer: Stem;

  constructor(private readonly sources: DashboardSources) {
    this.producer = sources.producer ?? Stem.fromParts({ broker: sources.broker, backend: sources.backend ?? null });
  }

  private deadLetters(queue: string): Broker & DeadLetterAdmin {
    return requireBrokerCapability(this.sources.broker, 'dead-letter-admin', `replay or purge dead letters of queue "${queue}"`);
  }

  /** Replays one dead letter, selected by its task id (attempt + 1, re-signed, status `queued`). */
  async replayOne(queue: string, id: string): Promise<ActionOutcome> {
    this.deadLetters(queue);
    const result = await this.producer.replayDeadLetters(queue, { ids: [id], limit: 1 });
    if (result.entries.length === 0) throw new DashboardActionError(`queue "${queue}" has no dead letter of task ${id} (replayed or purged already?)`);
    return { count: 1, message: `Replayed task ${id} on queue "${queue}".` };
  }

  /** Deletes one dead letter, selected by its task id. */
  async purgeOne(queue: string, id: string): Promise<ActionOutcome> {
    const count = await this.deadLetters(queue).purgeDeadLetters(queue, { ids: [id], limit: 1 });
    if (count === 0) throw new DashboardActionError(`queue "${queue}" has no dead letter of task ${id} (replayed or purged already?)`);
    return { count, message: `Purged the dead letter of task ${id} from queue "${queue}".` };
  }

  /** Replays the oldest dead letters the page's filters select; a dry run only counts and lists them. */
  async replaySet(queue: string, selection: DeadLetterSelection, dryRun: boolean): Promise<ActionOutcome> {
    const { filter, capped } = await selectionFilter(this.deadLetters(queue), queue, selection);
    const result = await this.producer.replayDeadLetters(queue, { ...filter, limit: selection.limit, dryRun });
    const ids = result.entries.map((e) => e.envelope.id);
    const among = capped ? ' (error type matched among the newest dead letters the page lists)' : '';
    return dryRun
      ? { count: ids.length, message: `Would replay ${ids.length} dead letter(s) of queue "${queue}"${among}.`, preview: ids }
      : { count: ids.length, message: `Replayed ${ids.length} dead letter(s) of queue "${queue}"${among}.` };
  }

  /** Purges the oldest dead letters the page's filters select; a dry run only counts and lists them. */
  async purgeSet(queue: string, selection: DeadLetterSelection, dryRun: boolean): Promise<ActionOutcome> {
    const broker = this.deadLetters(queue);
    const { filter, capped } = await selectionFilter(broker, queue, selection);
    const among = capped ? ' (error type matched among the newest dead letters the page lists)' : '';
    if (dryRun) {
      const ids = (await broker.replayDeadLetters(queue, { ...filter, limit: selection.limit, dryRun: true })).entries.map((e) => e.envelope.id);
      return { count: ids.length, message: `Would purge ${ids.length} dead letter(s) of queue "${queue}"${among}.`, preview: ids };
    }
    const count = await broker.purgeDeadLetters(queue, { ...filter, limit: selection.limit });
    return { count, message: `Purged ${count} dead letter(s) of queue "${queue}"${among}.` };
  }

  private control(who: string): ControlClient {
    const channel = this.sources.channel ?? (hasBroadcast(this.sources.broker) ? new BroadcastControlChannel(this.sources.broker) : undefined);
    return new ControlClient({ ...(channel ? { channel } : {}), ...(this.sources.controlStore ? { store: this.sources.controlStore } : {}), requestedBy: `dashboard:${who}` });
  }

  /** Waits for as many replies as there are live workers, at most the timeout. */
  private async requestOptions(): Promise<{ timeout: number; expect?: number }> {
    const live = this.sources.controlStore ? (await this.sources.controlStore.listHeartbeats()).length : undefined;
    return { timeout: CONTROL_TIMEOUT_MS, ...(live !== undefined ? { expect: live } : {}) };
  }

  /** Pauses or resumes a queue for every worker (stored, then broadcast). */
  async setPaused(queue: string, paused: boolean, who: string): Promise<ActionOutcome> {
    const control = this.control(who);
    const request = await this.requestOptions();
    const result = paused ? await control.pause(queue, request) : await control.resume(queue, request);
    const replied = result.replies.filter((r) => r.ok).length;
    return {
      count: result.persisted,
      message: `${paused ? 'Paused' : 'Resumed'} queue "${queue}"; ${replied} worker(s) applied it at once${replied === 0 ? ' (others apply it when they re-sync)' : ''}.`,
    };
  }

  /** Revokes tasks (stored first); with `terminate` a running one is stopped. */
  async revoke(ids: readonly string[], terminate: boolean, who: string): Promise<ActionOutcome> {
    const result = await this.control(who).revoke(ids, { terminate, reason: `revoked from the dashboard by ${who}`, ...(await this.requestOptions()) });
    return { count: result.persisted, message: `Revoked ${ids.length} task(s)${terminate ? ' with terminate' : ''}.` };
  }

  /** Asks one worker to shut down. */
  async shutdown(workerId: string, mode: ShutdownMode, who: string): Promise<ActionOutcome> {
    const replies = await this.control(who).shutdown({ workers: [workerId], mode, timeout: CONTROL_TIMEOUT_MS });
    if (!replies.some((r) => r.ok)) throw new DashboardActionError(`worker ${workerId} did not acknowledge the shutdown within ${CONTROL_TIMEOUT_MS} ms`);
    return { count: 1, message: `Worker ${workerId} is shutting down (${mode}).` };
  }

  private scheduler(): StemScheduler {
    if (!this.sources.scheduleStore) throw new DashboardActionError('no schedule store is configured');
    return new StemScheduler({ store: this.sources.scheduleStore });
  }

  /** Enables or disables a schedule entry. */
  async setScheduleEnabled(id: string, enabled: boolean): Promise<ActionOutcome> {
    const scheduler = this.scheduler();
    await (enabled ? scheduler.enable(id) : scheduler.disable(id));
    return { count: 1, message: `Schedule ${id} ${enabled ? 'enabled' : 'disabled'}.` };
  }

  /** Enqueues a schedule entry's task now, outside its timetable. */
  async runScheduleNow(id: string): Promise<ActionOutcome> {
    const entry = await this.scheduler().get(id);
    if (!entry) throw new DashboardActionError(`no schedule "${id}"`);
    const taskId = await this.producer.enqueue(entry.task, entry.args ?? {}, { ...entry.options, headers: { ...entry.options?.headers, 'schedule-id': id } });
    return { count: 1, message: `Enqueued ${entry.task} from schedule ${id} as task ${taskId}.` };
  }

  private workflows(): { store: WorkflowStore; runtime: WorkflowRuntime } {
    const store = this.sources.workflowStore;
    if (!store) throw new DashboardActionError('no workflow store is configured');
    return { store, runtime: new WorkflowRuntime({ store, producer: this.producer }) };
  }

  /** Cancels a workflow run. */
  async cancelRun(runId: string, who: string): Promise<ActionOutcome> {
    const { runtime } = this.workflows();
    const before = await runtime.get(runId);
    if (!before) throw new DashboardActionError(`no workflow run ${runId}`);
    if (isTerminalWorkflowStatus(before.status)) throw new DashboardActionError(`run ${runId} had already ended (${before.status}); nothing changed`);
    await runtime.cancel(runId, `cancelled from the dashboard by ${who}`);
    return { count: 1, message: `Cancelled run ${runId}.` };
  }

  /** Rewinds a run to a step; the dry run lists the checkpoints that would run again. */
  async rewindRun(runId: string, step: string, dryRun: boolean): Promise<ActionOutcome> {
    const { store, runtime } = this.workflows();
    const steps = await store.listSteps(runId);
    const from = steps.findIndex((s) => s.name === step || parseCheckpointName(s.name).step === step);
    if (from < 0) throw new DashboardActionError(`run ${runId} has no checkpoint of step "${step}"`);
    const again = steps.slice(from).map((s) => s.name);
    if (dryRun) return { count: again.length, message: `Rewinding run ${runId} to "${step}" would run ${again.length} completed step(s) again.`, preview: again };
    await runtime.rewind(runId, step);
    return { count: again.length, message: `Rewound run ${runId} to "${step}"; ${again.length} step(s) run again.` };
  }
}
