import { ConfigurationError } from '../errors/configuration.error.js';
import { UnknownEncoderError } from '../errors/unknown-encoder.error.js';
import { type EncoderRef, jsonPayloadEncoder, type TaskPayloadEncoder } from './task-payload-encoder.js';

/** Options of {@link TaskPayloadEncoderRegistry}. */
export interface TaskPayloadEncoderRegistryOptions {
  /** Encoders to know by id besides `json`. */
  readonly encoders?: readonly TaskPayloadEncoder[];
  /** Encoder for args of tasks without their own `argsEncoder`. @default json */
  readonly argsEncoder?: EncoderRef;
  /** Encoder for results of tasks without their own `resultEncoder`. @default json */
  readonly resultEncoder?: EncoderRef;
}

/**
 * Resolves encoders by id. Share one configuration between producers and workers: the id
 * written with a payload must resolve on the side that reads it.
 *
 * @example
 * const encoders = new TaskPayloadEncoderRegistry({ encoders: [base64], resultEncoder: 'base64' });
 * const stem = new Stem({ broker, backend, encoders });
 * const worker = new Worker({ broker, backend, registry, encoders });
 */
export class TaskPayloadEncoderRegistry {
  private readonly byId = new Map<string, TaskPayloadEncoder>();
  /** Default encoder of args. */
  readonly argsEncoder: TaskPayloadEncoder;
  /** Default encoder of results. */
  readonly resultEncoder: TaskPayloadEncoder;

  constructor(options: TaskPayloadEncoderRegistryOptions = {}) {
    this.register(jsonPayloadEncoder);
    for (const encoder of options.encoders ?? []) this.register(encoder);
    this.argsEncoder = this.resolve(options.argsEncoder, 'argsEncoder');
    this.resultEncoder = this.resolve(options.resultEncoder, 'resultEncoder');
  }

  /**
   * Adds an encoder. Registering the same instance twice is a no-op; another encoder under a
   * taken id is a configuration error.
   */
  register(encoder: TaskPayloadEncoder): void {
    if (!encoder?.id || typeof encoder.encode !== 'function' || typeof encoder.decode !== 'function') {
      throw new ConfigurationError('encoders', 'an encoder needs a non-empty "id" and "encode"/"decode" functions');
    }
    const existing = this.byId.get(encoder.id);
    if (existing && existing !== encoder) {
      throw new ConfigurationError('encoders', `two different encoders use the id "${encoder.id}"; give each a unique id`);
    }
    this.byId.set(encoder.id, encoder);
  }

  /** The encoder with `id`. @throws UnknownEncoderError */
  get(id: string, context?: string): TaskPayloadEncoder {
    const encoder = this.byId.get(id);
    if (!encoder) throw new UnknownEncoderError(id, [...this.byId.keys()], context);
    return encoder;
  }

  /** True when `id` is registered. */
  has(id: string): boolean {
    return this.byId.has(id);
  }

  /**
   * Resolves an instance (registering it) or an id; `undefined` gives `json`.
   * @param context names the task or option for error messages
   */
  resolve(ref: EncoderRef | undefined, context?: string): TaskPayloadEncoder {
    if (ref === undefined) return jsonPayloadEncoder;
    if (typeof ref === 'string') return this.get(ref, context);
    this.register(ref);
    return ref;
  }

  /** Decodes `stored` with the encoder named `id` (absent id: stored as is). */
  decode(stored: unknown, id: string | undefined, context?: string): unknown {
    if (id === undefined) return stored;
    return this.get(id, context).decode(stored);
  }
}
