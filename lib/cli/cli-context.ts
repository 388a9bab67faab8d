import { requireBrokerCapability, type Broker } from '../core/contracts/broker.js';
import { BroadcastControlChannel } from '../core/control/broadcast-control-channel.js';
import { ControlClient } from '../core/control/control-client.js';
import type { ResultBackend } from '../core/contracts/result-backend.js';
import type { ScheduleStore } from '../core/contracts/schedule-store.js';
import { ConfigurationError } from '../core/errors/configuration.error.js';
import { EnvelopeSigner } from '../core/signing/envelope-signer.js';
import { Stem } from '../core/stem.js';
import type { WorkflowStore } from '../core/workflow/workflow-store.js';
import { createStemAdapters, type StemAdapters } from '../adapters/stem-adapters.factory.js';

/** Where a command writes; tests pass their own. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

/** Options every command understands. */
export interface GlobalOptions {
  readonly broker?: string;
  readonly backend?: string;
  readonly json?: boolean;
  /** Open the workflow store with the others (the `wf` commands); the other commands leave it closed. */
  readonly workflows?: boolean;
}

/** Lazily connected stores for one CLI invocation. */
export class CliContext {
  private adapters?: Promise<StemAdapters>;

  constructor(
    readonly io: CliIo,
    readonly options: GlobalOptions,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** The broker URL from `--broker` or `STEM_BROKER_URL`. */
  get brokerUrl(): string {
    const url = this.options.broker ?? this.env.STEM_BROKER_URL;
    if (!url) throw new ConfigurationError('broker', 'pass --broker <url> or set STEM_BROKER_URL (redis://... or postgres://...)');
    if (url.startsWith('memory:')) {
      throw new ConfigurationError('broker', 'memory:// lives inside one process, so the CLI cannot reach it; point --broker at the Redis or Postgres your workers use');
    }
    return url;
  }

  private connect(): Promise<StemAdapters> {
    const backend = this.options.backend ?? this.env.STEM_RESULT_BACKEND_URL;
    const revokeStore = this.env.STEM_REVOKE_STORE_URL;
    this.adapters ??= createStemAdapters({
      broker: this.brokerUrl,
      ...(backend ? { backend } : {}),
      ...(revokeStore ? { revokeStore } : {}),
      scheduleStore: this.env.STEM_SCHEDULE_STORE_URL ?? this.brokerUrl,
      workflowStore: this.options.workflows ? (this.env.STEM_WORKFLOW_STORE_URL ?? this.brokerUrl) : false,
      // NOTE: the STEM_TLS_* variables of this invocation's environment, as a worker reads them.
      env: this.env,
    });
    return this.adapters;
  }

  /** Every store of this invocation (the dashboard shows them all). */
  stores(): Promise<StemAdapters> {
    return this.connect();
  }

  async broker(): Promise<Broker> {
    return (await this.connect()).broker;
  }

  async backend(): Promise<ResultBackend> {
    const backend = (await this.connect()).backend;
    if (!backend) throw new ConfigurationError('backend', 'no result backend configured');
    return backend;
  }

  /**
   * A producer on the same stores, signing with the `STEM_SIGNING_*` keys when set, so replays
   * are re-signed like the workers expect.
   */
  async producer(): Promise<Stem> {
    const adapters = await this.connect();
    return Stem.fromParts({ broker: adapters.broker, backend: adapters.backend, signer: EnvelopeSigner.fromEnv(this.env) });
  }

  /** A control client on the broker's broadcast channel and the revoke store (`STEM_REVOKE_STORE_URL`, else the backend's store). */
  async control(): Promise<ControlClient> {
    const adapters = await this.connect();
    const channel = new BroadcastControlChannel(requireBrokerCapability(adapters.broker, 'broadcast', 'send worker control commands'));
    return new ControlClient({ channel, ...(adapters.revokeStore ? { store: adapters.revokeStore } : {}), requestedBy: `cli:${this.env.USER ?? 'unknown'}@pid${process.pid}` });
  }

  async scheduleStore(): Promise<ScheduleStore> {
    const store = (await this.connect()).scheduleStore;
    if (!store) throw new ConfigurationError('scheduleStore', `"${this.brokerUrl}" has no schedule store; set STEM_SCHEDULE_STORE_URL`);
    return store;
  }

  /** The workflow store (`STEM_WORKFLOW_STORE_URL`, else the broker's store). */
  async workflowStore(): Promise<WorkflowStore> {
    if (!this.options.workflows) throw new ConfigurationError('workflowStore', 'the workflow store is opened only for the wf commands');
    const store = (await this.connect()).workflowStore;
    if (!store) throw new ConfigurationError('workflowStore', `"${this.brokerUrl}" has no workflow store; set STEM_WORKFLOW_STORE_URL`);
    return store;
  }

  /** Whether progress lines may be written (stderr is a terminal, and no `--json`). */
  get interactive(): boolean {
    return !this.options.json && Boolean(process.stderr.isTTY);
  }

  /** Prints `value` as JSON with `--json`, else through `human`. */
  print(value: unknown, human: () => void): void {
    if (this.options.json) this.io.out(JSON.stringify(value, null, 2));
    else human();
  }

  async close(): Promise<void> {
    if (this.adapters) await (await this.adapters.catch(() => undefined))?.close();
  }
}

/** A bad command line: the message says what to type instead. */
export class UsageError extends Error {}

/** Parses `ms`, an ISO date, or a duration back from now (`'1h'`, `'30m'`, `'2d'`) into epoch ms. */
export function parseSince(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const ago = /^(\d+)(s|m|h|d)$/.exec(value);
  if (ago) return now - Number(ago[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 's' | 'm' | 'h' | 'd'];
  if (/^\d+$/.test(value)) return Number(value);
  const date = Date.parse(value);
  if (Number.isNaN(date)) throw new UsageError(`--since "${value}" is not a time; use an ISO date, epoch ms, or a duration such as 1h`);
  return date;
}

/** Parses a non-negative integer option. */
export function parseCount(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}

/** Formats epoch ms as an ISO string (or `-`). */
export function iso(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString();
}
