import type { ScheduleEntry, ScheduleExecution, ScheduleReschedule, ScheduleUpsert } from '../contracts/schedule-store.js';

/**
 * Pure state transitions of a schedule entry, shared by the {@link ScheduleStore} adapters so
 * they record runs the same way. Adapters add storage and the version check around them.
 */
export const ScheduleRecords = {
  /** The entry an upsert produces: new (version 1) or with `existing`'s run state kept. */
  upsert(existing: ScheduleEntry | null, input: ScheduleUpsert, now: number): ScheduleEntry {
    const definition = withoutUndefined({
      id: input.id,
      task: input.task,
      args: input.args,
      options: input.options,
      spec: input.spec,
      timezone: input.timezone,
      enabled: input.enabled,
      jitter: input.jitter,
      description: input.description,
      source: input.source ?? 'runtime',
      meta: input.meta,
      nextRunAt: input.nextRunAt,
    });
    if (!existing) return { ...definition, runCount: 0, failureCount: 0, createdAt: now, updatedAt: now, version: 1 } as ScheduleEntry;
    return withoutUndefined({
      ...definition,
      lastRunAt: existing.lastRunAt,
      lastScheduledFor: existing.lastScheduledFor,
      lastSuccessAt: existing.lastSuccessAt,
      lastErrorAt: existing.lastErrorAt,
      lastError: existing.lastError,
      lastTaskId: existing.lastTaskId,
      lastJitter: existing.lastJitter,
      drift: existing.drift,
      runCount: existing.runCount,
      failureCount: existing.failureCount,
      createdAt: existing.createdAt,
      updatedAt: now,
      version: existing.version + 1,
    }) as ScheduleEntry;
  },

  /** The entry after a recorded run. */
  execute(existing: ScheduleEntry, run: ScheduleExecution, now: number): ScheduleEntry {
    return withoutUndefined({
      ...existing,
      enabled: run.enabled ?? existing.enabled,
      nextRunAt: run.nextRunAt,
      lastRunAt: run.executedAt,
      lastScheduledFor: run.scheduledFor,
      lastSuccessAt: run.success ? run.executedAt : existing.lastSuccessAt,
      lastErrorAt: run.success ? existing.lastErrorAt : run.executedAt,
      lastError: run.success ? existing.lastError : (run.error ?? 'dispatch failed'),
      lastTaskId: run.taskId ?? existing.lastTaskId,
      lastJitter: run.jitter,
      drift: run.drift,
      runCount: existing.runCount + 1,
      failureCount: existing.failureCount + (run.success ? 0 : 1),
      updatedAt: now,
      version: existing.version + 1,
    }) as ScheduleEntry;
  },

  /** The entry after its next run moved without a run. */
  reschedule(existing: ScheduleEntry, change: ScheduleReschedule, now: number): ScheduleEntry {
    return { ...existing, nextRunAt: change.nextRunAt, enabled: change.enabled ?? existing.enabled, updatedAt: now, version: existing.version + 1 };
  },
} as const;

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
