/** One action taken on the dashboard. */
export interface DashboardAuditEntry {
  /** Epoch ms. */
  readonly at: number;
  /** The user a guard named, else the client address. */
  readonly who: string;
  /** The action, e.g. `dead-letters.replay`, `queue.pause`. */
  readonly action: string;
  /** What it acted on (`queue emails`, `task 0193…`). */
  readonly target: string;
  /** How many items it changed. */
  readonly count: number;
  /** Whether it succeeded; a failed action keeps its error message in `detail`. */
  readonly ok: boolean;
  readonly detail?: string;
}

/** Where the dashboard records its actions. */
export interface DashboardAuditLog {
  record(entry: DashboardAuditEntry): Promise<void>;
  /** The newest entries first. */
  list(limit?: number): Promise<DashboardAuditEntry[]>;
}

/**
 * The default audit log: the last `capacity` actions, in this process. Give the dashboard a
 * log of your own (a database table, your logging pipeline) to keep them across restarts.
 */
export class InMemoryDashboardAuditLog implements DashboardAuditLog {
  private readonly entries: DashboardAuditEntry[] = [];

  /** @param capacity entries kept @default 1000 */
  constructor(private readonly capacity = 1_000) {}

  async record(entry: DashboardAuditEntry): Promise<void> {
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }

  async list(limit = 100): Promise<DashboardAuditEntry[]> {
    return this.entries.slice(-limit).reverse();
  }
}
