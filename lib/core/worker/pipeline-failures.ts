import { type Envelope, StemMeta } from '../envelope.js';
import { ConfigurationError } from '../errors/configuration.error.js';

/** Dead-letter reason of a delivery whose pipeline kept failing. */
export const PIPELINE_ERROR_REASON = 'pipeline-error';

/** Pipeline errors tolerated per delivery by default. */
export const DEFAULT_PIPELINE_FAILURE_BUDGET = 5;

/** First requeue delay after a pipeline error by default, ms. */
export const DEFAULT_PIPELINE_FAILURE_BACKOFF_MS = 1_000;

/** Longest requeue delay after a pipeline error, ms. */
const MAX_PIPELINE_FAILURE_DELAY_MS = 60_000;

/** Task ids whose count this worker remembers (oldest forgotten first). */
const MAX_REMEMBERED = 10_000;

/**
 * Counts the errors inside the pipeline of each delivery (not the handler's own errors, which
 * the retry policy counts). The count travels in the envelope's `stem.pipelineFailures` meta, so
 * any worker that gets the delivery again continues it; the worker also remembers the counts it
 * wrote, so a delivery whose requeue was refused (and comes back with its old meta when its lease
 * lapses) still moves towards its dead letter.
 */
export class PipelineFailureBudget {
  private readonly remembered = new Map<string, number>();
  readonly budget: number;
  private readonly backoff: number;

  constructor(budget = DEFAULT_PIPELINE_FAILURE_BUDGET, backoff = DEFAULT_PIPELINE_FAILURE_BACKOFF_MS) {
    this.budget = Number.isFinite(budget) ? Math.max(1, Math.floor(budget)) : DEFAULT_PIPELINE_FAILURE_BUDGET;
    this.backoff = Number.isFinite(backoff) ? Math.max(0, backoff) : DEFAULT_PIPELINE_FAILURE_BACKOFF_MS;
  }

  /**
   * A budget from the worker options `pipelineFailureBudget` and `pipelineFailureBackoff`.
   * @throws ConfigurationError naming the option when a value is out of range
   */
  static fromOptions(budget: number | undefined, backoff: number | undefined): PipelineFailureBudget {
    if (budget !== undefined && !(Number.isSafeInteger(budget) && budget >= 1)) {
      throw new ConfigurationError(
        'pipelineFailureBudget',
        `must be a whole number of at least 1 (got ${String(budget)}): the pipeline errors a delivery may meet before it is dead-lettered`,
      );
    }
    if (backoff !== undefined && !(Number.isFinite(backoff) && backoff >= 0)) {
      throw new ConfigurationError('pipelineFailureBackoff', `must be a number of ms of at least 0 (got ${String(backoff)}): the first requeue delay after a pipeline error`);
    }
    return new PipelineFailureBudget(budget, backoff);
  }

  /** Counts one more failure of this delivery; returns the failures so far, this one included. */
  record(envelope: Envelope): number {
    const carried = envelope.meta[StemMeta.pipelineFailures];
    // NOTE: the meta comes from outside; anything but a count (negative, fractional, a string)
    // counts as none, and the count written back is a clean one.
    const fromMeta = typeof carried === 'number' && Number.isSafeInteger(carried) && carried > 0 ? carried : 0;
    const key = keyOf(envelope);
    const failures = Math.max(fromMeta, this.remembered.get(key) ?? 0) + 1;
    this.remembered.delete(key);
    this.remembered.set(key, failures);
    if (this.remembered.size > MAX_REMEMBERED) this.remembered.delete(this.remembered.keys().next().value!);
    return failures;
  }

  /** Whether `failures` used up the budget (the delivery is then dead-lettered). */
  exhausted(failures: number): boolean {
    return failures >= this.budget;
  }

  /** Requeue delay after the `failures`-th failure: the backoff, doubled each time, capped at a minute. */
  delayAfter(failures: number): number {
    return Math.min(MAX_PIPELINE_FAILURE_DELAY_MS, this.backoff * 2 ** Math.min(30, Math.max(0, failures - 1)));
  }

  /** The delivery is done with (its pipeline completed, or it was dead-lettered). */
  forget(envelope: Envelope): void {
    if (this.remembered.size > 0) this.remembered.delete(keyOf(envelope));
  }

  /** `envelope` with `failures` recorded in its meta. */
  static withFailures(envelope: Envelope, failures: number): Envelope {
    return { ...envelope, meta: { ...envelope.meta, [StemMeta.pipelineFailures]: failures } };
  }

  /** `envelope` without a pipeline failure count (its pipeline completed). */
  static cleared(envelope: Envelope): Envelope {
    if (!Object.hasOwn(envelope.meta, StemMeta.pipelineFailures)) return envelope;
    const { [StemMeta.pipelineFailures]: _dropped, ...meta } = envelope.meta;
    return { ...envelope, meta };
  }
}

function keyOf(envelope: Envelope): string {
  return `${envelope.id}#${envelope.attempt}`;
}
