/**
 * A runner's result for one item that failed on its own: that caller's promise rejects with
 * `error` while the other items of the batch resolve.
 */
export class BatchItemFailure {
  constructor(readonly error: unknown) {}
}

interface Pending<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/** Options of {@link MicroBatcher}. */
export interface MicroBatcherOptions<T> {
  /** Largest batch handed to the runner. */
  readonly maxBatch: number;
  /** Batches that may run at once; 1 keeps calls applied in call order. */
  readonly maxConcurrent: number;
  /**
   * Items with the same key are applied in call order even when batches run concurrently: an
   * item waits while an earlier item with its key is in a running batch.
   */
  readonly keyOf?: (item: T) => string;
}

/**
 * Coalesces concurrent calls into batches so one SQL statement does the work of many round trips.
 * A call made while the connection is idle is flushed on the next turn of the event loop; calls
 * made while batches are running wait for the next free slot and go together. Under light load a
 * batch holds one item; under heavy load batches grow on their own.
 */
export class MicroBatcher<T, R = void> {
  private queue: Pending<T, R>[] = [];
  private running = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];
  /** Keys of items in running batches, with their counts. */
  private readonly inFlight = new Map<string, number>();

  /**
   * @param runner executes one batch; returns one result per item, in order (or nothing for void).
   * A runner that rejects fails its whole batch; a {@link BatchItemFailure} among its results
   * fails only that item.
   */
  constructor(
    private readonly runner: (items: T[]) => Promise<(R | BatchItemFailure)[] | void>,
    private readonly options: MicroBatcherOptions<T>,
  ) {}

  /** Adds one item; resolves with its result once its batch ran. */
  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting for a batch. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves once every item added so far has been run. */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.options.maxConcurrent) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.running < this.options.maxConcurrent) {
      const batch = this.take();
      if (batch.length === 0) return;
      const keys = this.options.keyOf ? batch.map((p) => this.options.keyOf!(p.item)) : [];
      for (const key of keys) this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
      this.running++;
      this.runner(batch.map((p) => p.item))
        .then(
          (results) => {
            batch.forEach((p, i) => {
              const result = results ? results[i] : undefined;
              if (result instanceof BatchItemFailure) p.reject(result.error);
              else p.resolve(result as R);
            });
          },
          (error: unknown) => {
            for (const p of batch) p.reject(error);
          },
        )
        .finally(() => {
          for (const key of keys) {
            const left = this.inFlight.get(key)! - 1;
            if (left === 0) this.inFlight.delete(key);
            else this.inFlight.set(key, left);
          }
          this.running--;
          if (this.queue.length > 0) this.flush();
          else if (this.running === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
        });
    }
  }

  /** Takes the next batch: in call order, skipping items whose key is still in flight. */
  private take(): Pending<T, R>[] {
    const { keyOf, maxBatch } = this.options;
    if (!keyOf || this.inFlight.size === 0) return this.queue.splice(0, maxBatch);
    const batch: Pending<T, R>[] = [];
    const kept: Pending<T, R>[] = [];
    const blocked = new Set(this.inFlight.keys());
    for (const pending of this.queue) {
      const key = keyOf(pending.item);
      if (batch.length < maxBatch && !blocked.has(key)) batch.push(pending);
      else {
        blocked.add(key);
        kept.push(pending);
      }
    }
    this.queue = kept;
    return batch;
  }
}
