/**
 * A flush's result for one item that failed on its own: that caller's promise rejects with
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

/**
 * Coalesces calls made in the same turn of the event loop into one flush (one script call and
 * one round trip for many acks or status writes). A flush runs on `setImmediate`, or at once when
 * `maxSize` items are waiting; each caller gets its own result or error: a flush that rejects
 * fails its whole batch, a {@link BatchItemFailure} in its results fails only that item.
 */
export class Batcher<T, R = void> {
  private pending: Pending<T, R>[] = [];
  private scheduled = false;

  constructor(
    private readonly flushBatch: (items: readonly T[]) => Promise<readonly (R | BatchItemFailure)[]>,
    private readonly maxSize = 500,
  ) {}

  /** Queues an item; resolves when its batch was written. */
  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxSize) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.flushBatch(batch.map((p) => p.item)).then(
      (results) =>
        batch.forEach((p, i) => {
          const result = results[i];
          if (result instanceof BatchItemFailure) p.reject(result.error);
          else p.resolve(result as R);
        }),
      (error: unknown) => batch.forEach((p) => p.reject(error)),
    );
  }
}
