import { EventEmitter } from 'node:events';

/** Maps event names to their listener argument tuples. */
export type EventMap = { [event: string]: unknown[] };

/**
 * A Node `EventEmitter` with typed event names and arguments. Listener errors are caught and
 * re-emitted as `'listener:error'` so they never break the emitter's caller.
 */
export class TypedEmitter<Events extends EventMap> {
  private readonly emitter = new EventEmitter({ captureRejections: false });

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  /** Adds a listener. Returns a function that removes it. */
  on<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): () => void {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return () => this.off(event, listener);
  }

  /** Adds a listener called at most once. */
  once<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): () => void {
    this.emitter.once(event, listener as (...args: unknown[]) => void);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): void {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
  }

  /** @internal */
  emit<K extends keyof Events & string>(event: K, ...args: Events[K]): void {
    if (this.emitter.listenerCount(event) === 0) return;
    for (const listener of this.emitter.listeners(event)) {
      try {
        (listener as (...a: unknown[]) => void)(...args);
      } catch (error) {
        if (event !== 'listener:error') this.emitter.emit('listener:error', error, event);
      }
    }
  }

  /** Whether anything listens to `event` (lets hot paths skip building payloads). */
  hasListeners(event: keyof Events & string): boolean {
    return this.emitter.listenerCount(event) > 0;
  }
}
