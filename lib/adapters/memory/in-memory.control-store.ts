import type { ControlStore, QueuePauseEntry, RevokeEntry, WorkerHeartbeat } from '../../core/contracts/control-store.js';
import { type Clock, systemClock } from '../../core/utils/clock.js';

/**
 * A {@link ControlStore} in this process: revocations, queue pauses and heartbeats survive a
 * worker's restart inside the process, not the process itself.
 *
 * @example
 * const control = new InMemoryControlStore();
 * await control.upsertRevokes([{ taskId, version: Date.now() * 1000, issuedAt: Date.now(), terminate: false }]);
 */
export class InMemoryControlStore implements ControlStore {
  private readonly revokes = new Map<string, RevokeEntry>();
  private readonly pauses = new Map<string, QueuePauseEntry>();
  private readonly heartbeats = new Map<string, { heartbeat: WorkerHeartbeat; expiresAt: number }>();

  constructor(private readonly clock: Clock = systemClock) {}

  async upsertRevokes(entries: readonly RevokeEntry[]): Promise<number> {
    let written = 0;
    for (const entry of entries) {
      const stored = this.revokes.get(entry.taskId);
      if (stored && stored.version >= entry.version) continue;
      this.revokes.set(entry.taskId, { ...entry });
      written++;
    }
    return written;
  }

  async listRevokes(now: number = this.clock.now()): Promise<RevokeEntry[]> {
    return [...this.revokes.values()].filter((e) => e.expiresAt === undefined || e.expiresAt > now).sort((a, b) => a.version - b.version);
  }

  async pruneRevokes(now: number): Promise<number> {
    let pruned = 0;
    for (const [id, entry] of this.revokes) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) {
        this.revokes.delete(id);
        pruned++;
      }
    }
    return pruned;
  }

  async setQueuePause(entry: QueuePauseEntry): Promise<boolean> {
    const stored = this.pauses.get(entry.queue);
    if (stored && stored.version >= entry.version) return false;
    this.pauses.set(entry.queue, { ...entry });
    return true;
  }

  async listQueuePauses(): Promise<QueuePauseEntry[]> {
    return [...this.pauses.values()].sort((a, b) => a.queue.localeCompare(b.queue));
  }

  async recordHeartbeat(heartbeat: WorkerHeartbeat, ttl: number): Promise<void> {
    this.heartbeats.set(heartbeat.workerId, { heartbeat, expiresAt: this.clock.now() + ttl });
  }

  async listHeartbeats(): Promise<WorkerHeartbeat[]> {
    const now = this.clock.now();
    for (const [id, { expiresAt }] of this.heartbeats) if (expiresAt <= now) this.heartbeats.delete(id);
    return [...this.heartbeats.values()].map((h) => h.heartbeat).sort((a, b) => a.workerId.localeCompare(b.workerId));
  }

  async removeHeartbeat(workerId: string): Promise<void> {
    this.heartbeats.delete(workerId);
  }

  async close(): Promise<void> {}
}
