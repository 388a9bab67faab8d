import type { StemSignalMap, StemSignalName, WorkerSignalBase } from '../signals/signal-map.js';
import type { StemSignals } from '../signals/stem-signals.js';

/** The signals that carry a `workerId`: the ones a worker emits. */
export type WorkerSignalName = { [K in StemSignalName]: StemSignalMap[K] extends WorkerSignalBase ? K : never }[StemSignalName];

/** A payload of a worker signal without its `workerId` (the sink adds it). */
export type WorkerSignalPayload<K extends WorkerSignalName> = Omit<StemSignalMap[K], 'workerId'>;

/**
 * How the parts of a worker emit signals: it stamps the worker's id on each payload and builds
 * nothing when the signal is disabled or nobody listens.
 */
export class WorkerSignalSink {
  constructor(
    /** The hub the worker emits on (`worker.signals`). */
    readonly hub: StemSignals,
    readonly workerId: string,
  ) {}

  /** Emits `signal` with `payload` and this worker's id. */
  emit<K extends WorkerSignalName>(signal: K, payload: WorkerSignalPayload<K>): void {
    if (this.hub.has(signal)) this.hub.emit(signal, { ...payload, workerId: this.workerId } as unknown as StemSignalMap[K]);
  }

  /** Emits `worker-error`. */
  error(error: unknown): void {
    this.emit('worker-error', { error });
  }
}
