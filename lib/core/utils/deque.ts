/** A FIFO queue with O(1) push and shift (amortised), used on the in-memory hot path. */
export class Deque<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  unshift(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
  }

  /** The first item, left in place. */
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes every item matching `predicate`; returns how many. */
  removeWhere(predicate: (item: T) => boolean): number {
    const kept: T[] = [];
    let removed = 0;
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i] as T;
      if (predicate(item)) removed++;
      else kept.push(item);
    }
    this.items = kept;
    this.head = 0;
    return removed;
  }

  toArray(): T[] {
    return this.items.slice(this.head) as T[];
  }
}
