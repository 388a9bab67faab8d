import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign as edSign, timingSafeEqual, verify as edVerify } from 'node:crypto';
import type { Envelope } from '../envelope.js';
import { StemHeaders } from '../envelope.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import { signingPayload } from './signing-payload.js';
import { type SignatureCheck, type SigningAlgorithm, SigningEnv, SigningHeaders, type SigningKeyInput, type SigningOptions } from './signing.options.js';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const ALGORITHMS: readonly SigningAlgorithm[] = ['hmac-sha256', 'ed25519'];

function bytesOf(input: string | Uint8Array, option: string, id: string): Buffer {
  if (typeof input !== 'string') return Buffer.from(input);
  const text = input.trim();
  if (!/^[A-Za-z0-9+/_-]+=*$/.test(text)) throw new ConfigurationError(option, `key "${id}" is not base64`);
  return Buffer.from(text, 'base64');
}

function edPrivateKey(input: SigningKeyInput, id: string): KeyObject {
  try {
    if (typeof input === 'object' && !(input instanceof Uint8Array)) return input;
    if (typeof input === 'string' && input.includes('-----BEGIN')) return createPrivateKey(input);
    const raw = bytesOf(input, 'privateKeys', id);
    const der = raw.length === 32 ? Buffer.concat([PKCS8_ED25519_PREFIX, raw]) : raw;
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    throw new ConfigurationError('privateKeys', `Ed25519 private key "${id}" is not a raw 32-byte seed, PKCS#8 DER or PEM (${(error as Error).message})`);
  }
}

function edPublicKey(input: SigningKeyInput, id: string): KeyObject {
  try {
    if (typeof input === 'object' && !(input instanceof Uint8Array)) return input.type === 'private' ? createPublicKey(input) : input;
    if (typeof input === 'string' && input.includes('-----BEGIN')) return createPublicKey(input);
    const raw = bytesOf(input, 'publicKeys', id);
    const der = raw.length === 32 ? Buffer.concat([SPKI_ED25519_PREFIX, raw]) : raw;
    return createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    throw new ConfigurationError('publicKeys', `Ed25519 public key "${id}" is not 32 raw bytes, SPKI DER or PEM (${(error as Error).message})`);
  }
}

/** Parses `id:base64,id2:base64` (the `STEM_SIGNING_*KEYS` format). */
export function parseSigningKeyList(text: string | undefined, variable: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const colon = part.indexOf(':');
    if (colon <= 0 || colon === part.length - 1) {
      throw new ConfigurationError(variable, `expected "id:base64[,id:base64...]", got an entry "${part.slice(0, 20)}..."`);
    }
    out[part.slice(0, colon).trim()] = part.slice(colon + 1).trim();
  }
  return out;
}

/**
 * Signs envelopes on the producer and verifies them on the worker, with HMAC-SHA256 (shared
 * secret) or Ed25519 (producers hold private keys, workers only public ones). Writes the base64
 * signature to `stem-signature` and the key id to `stem-signature-key`. Several verify keys allow
 * rotation with overlap.
 *
 * @example
 * const signer = new EnvelopeSigner({ keys: { k2: process.env.K2!, k1: process.env.K1! }, activeKey: 'k2' });
 * const stem = new Stem({ broker, backend, signer });
 * const worker = new Worker({ broker, backend, registry, signer });
 */
export class EnvelopeSigner {
  /** The algorithm in use. */
  readonly algorithm: SigningAlgorithm;
  /** Key id new signatures are made with (`undefined`: verify only). */
  readonly activeKey?: string;
  /** Whether unsigned envelopes fail verification. */
  readonly required: boolean;
  /** Replay window in ms (`undefined`: signatures do not expire). */
  readonly maxAge?: number;
  private readonly now: () => number;
  private readonly secrets = new Map<string, Buffer>();
  private readonly privateKeys = new Map<string, KeyObject>();
  private readonly publicKeys = new Map<string, KeyObject>();

  constructor(options: SigningOptions) {
    const algorithm = options.algorithm ?? 'hmac-sha256';
    if (!ALGORITHMS.includes(algorithm)) {
      throw new ConfigurationError('algorithm', `unknown signing algorithm "${algorithm}"; use ${ALGORITHMS.map((a) => `"${a}"`).join(' or ')}`);
    }
    this.algorithm = algorithm;
    this.required = options.required ?? true;
    if (options.maxAge !== undefined && !(Number.isFinite(options.maxAge) && options.maxAge > 0)) {
      throw new ConfigurationError('maxAge', `signature maxAge must be a positive number of ms, got ${String(options.maxAge)}`);
    }
    if (options.maxAge !== undefined) this.maxAge = options.maxAge;
    this.now = options.now ?? Date.now;
    if (algorithm === 'hmac-sha256') {
      for (const [id, input] of Object.entries(options.keys ?? {})) {
        if (typeof input === 'object' && !(input instanceof Uint8Array)) throw new ConfigurationError('keys', `HMAC key "${id}" must be base64 text or bytes`);
        const secret = bytesOf(input, 'keys', id);
        if (secret.length < 16) throw new ConfigurationError('keys', `HMAC key "${id}" has ${secret.length} bytes; use at least 16 (32 recommended)`);
        this.secrets.set(id, secret);
      }
      if (this.secrets.size === 0) throw new ConfigurationError('keys', 'hmac-sha256 signing needs at least one key (STEM_SIGNING_KEYS="id:base64")');
    } else {
      for (const [id, input] of Object.entries(options.privateKeys ?? {})) {
        const key = edPrivateKey(input, id);
        this.privateKeys.set(id, key);
        this.publicKeys.set(id, createPublicKey(key));
      }
      for (const [id, input] of Object.entries(options.publicKeys ?? {})) this.publicKeys.set(id, edPublicKey(input, id));
      if (this.publicKeys.size === 0) {
        throw new ConfigurationError('publicKeys', 'ed25519 signing needs at least one public or private key (STEM_SIGNING_PUBLIC_KEYS / STEM_SIGNING_PRIVATE_KEYS)');
      }
    }
    const signing = algorithm === 'hmac-sha256' ? [...this.secrets.keys()] : [...this.privateKeys.keys()];
    const active = options.activeKey ?? (signing.length === 1 ? signing[0] : undefined);
    if (active !== undefined && !signing.includes(active)) {
      throw new ConfigurationError(
        'activeKey',
        `active key "${active}" is not among the ${algorithm === 'hmac-sha256' ? '' : 'private '}keys (${signing.map((k) => `"${k}"`).join(', ') || 'none'})`,
      );
    }
    if (active === undefined && signing.length > 1) {
      throw new ConfigurationError('activeKey', `several signing keys (${signing.join(', ')}) and no active key; set activeKey (STEM_SIGNING_ACTIVE_KEY)`);
    }
    this.activeKey = active;
  }

  /**
   * A signer configured from environment variables, or `undefined` when none is set:
   * `STEM_SIGNING_ALGORITHM` (`hmac-sha256` | `ed25519`), `STEM_SIGNING_KEYS`,
   * `STEM_SIGNING_PRIVATE_KEYS`, `STEM_SIGNING_PUBLIC_KEYS` (each `id:base64,...`) and
   * `STEM_SIGNING_ACTIVE_KEY`, and `STEM_SIGNING_MAX_AGE` (replay window in ms, see `SigningOptions.maxAge`).
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): EnvelopeSigner | undefined {
    const keys = parseSigningKeyList(env[SigningEnv.keys], SigningEnv.keys);
    const privateKeys = parseSigningKeyList(env[SigningEnv.privateKeys], SigningEnv.privateKeys);
    const publicKeys = parseSigningKeyList(env[SigningEnv.publicKeys], SigningEnv.publicKeys);
    const algorithmText = env[SigningEnv.algorithm]?.trim().toLowerCase();
    const hasKeys = Object.keys(keys).length + Object.keys(privateKeys).length + Object.keys(publicKeys).length > 0;
    if (!algorithmText && !hasKeys) return undefined;
    const algorithm = (algorithmText || (Object.keys(keys).length ? 'hmac-sha256' : 'ed25519')) as SigningAlgorithm;
    if (!ALGORITHMS.includes(algorithm)) {
      throw new ConfigurationError(SigningEnv.algorithm, `unknown signing algorithm "${algorithm}"; use "hmac-sha256" or "ed25519"`);
    }
    const activeKey = env[SigningEnv.activeKey]?.trim() || undefined;
    const maxAgeText = env[SigningEnv.maxAge]?.trim() || undefined;
    const maxAge = maxAgeText === undefined ? undefined : Number(maxAgeText);
    if (maxAge !== undefined && !(Number.isFinite(maxAge) && maxAge > 0)) {
      throw new ConfigurationError(SigningEnv.maxAge, `expected a positive number of ms, got "${maxAgeText}"`);
    }
    return new EnvelopeSigner({ algorithm, keys, privateKeys, publicKeys, ...(activeKey ? { activeKey } : {}), ...(maxAge !== undefined ? { maxAge } : {}) });
  }

  /** True when this signer holds a key to sign with. */
  get canSign(): boolean {
    return this.activeKey !== undefined;
  }

  /** Ids of the keys signatures are accepted from. */
  get verifyKeyIds(): readonly string[] {
    return this.algorithm === 'hmac-sha256' ? [...this.secrets.keys()] : [...this.publicKeys.keys()];
  }

  /**
   * A copy of `envelope` with fresh `stem-signature` and `stem-signature-key` headers.
   * @throws ConfigurationError when the signer has no active key
   */
  sign<T extends Envelope>(envelope: T): T {
    const keyId = this.activeKey;
    if (keyId === undefined) throw new ConfigurationError('activeKey', `cannot sign task "${envelope.name}": this signer only verifies; set activeKey (STEM_SIGNING_ACTIVE_KEY)`);
    const headers: Record<string, string> = { ...envelope.headers };
    delete headers[SigningHeaders.signedUntil];
    if (this.maxAge !== undefined) {
      const from = Math.max(this.now(), typeof envelope.notBefore === 'number' ? envelope.notBefore : 0);
      headers[SigningHeaders.signedUntil] = String(Math.ceil(from + this.maxAge));
    }
    const unsigned = { ...envelope, headers };
    const data = Buffer.from(signingPayload(unsigned));
    const signature = this.algorithm === 'hmac-sha256' ? createHmac('sha256', this.secrets.get(keyId)!).update(data).digest() : edSign(null, data, this.privateKeys.get(keyId)!);
    return { ...unsigned, headers: { ...headers, [StemHeaders.signature]: signature.toString('base64'), [StemHeaders.signatureKey]: keyId } };
  }

  /**
   * Checks the signature of `envelope` against the verify keys, and its `stem-signed-until`
   * window (see `SigningOptions.maxAge`). Never throws.
   */
  verify(envelope: Envelope): SignatureCheck {
    const signature: unknown = envelope.headers?.[StemHeaders.signature];
    const keyId: unknown = envelope.headers?.[StemHeaders.signatureKey];
    if (!signature) return this.required ? { valid: false, reason: 'the envelope is not signed' } : { valid: true, keyId: '' };
    if (typeof signature !== 'string') return { valid: false, reason: `header "${StemHeaders.signature}" is not text` };
    if (!keyId || typeof keyId !== 'string') return { valid: false, reason: `header "${StemHeaders.signatureKey}" is missing` };
    try {
      const check = this.checkSignature(envelope, signature, keyId);
      return check.valid ? this.checkWindow(envelope, keyId) : check;
    } catch (error) {
      return { valid: false, keyId, reason: `the envelope could not be checked: ${(error as Error).message}` };
    }
  }

  private checkWindow(envelope: Envelope, keyId: string): SignatureCheck {
    const text: unknown = envelope.headers[SigningHeaders.signedUntil];
    if (text === undefined) {
      return this.maxAge === undefined
        ? { valid: true, keyId }
        : {
            valid: false,
            keyId,
            reason: `the signature has no "${SigningHeaders.signedUntil}" header and this verifier requires one (maxAge ${this.maxAge} ms); sign with maxAge set`,
          };
    }
    const until = typeof text === 'string' && /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(until)) return { valid: false, keyId, reason: `header "${SigningHeaders.signedUntil}" is not an epoch-ms integer` };
    if (this.now() > until) {
      return {
        valid: false,
        keyId,
        reason: `the signature expired at ${new Date(until).toISOString()} (a replayed or long-delayed envelope; raise maxAge if tasks wait longer in the queue)`,
      };
    }
    return { valid: true, keyId };
  }

  private checkSignature(envelope: Envelope, signature: string, keyId: string): SignatureCheck {
    const data = Buffer.from(signingPayload(envelope));
    const given = Buffer.from(signature, 'base64');
    // NOTE: base64 decoding skips stray characters; only the one canonical spelling is accepted.
    if (given.toString('base64') !== signature) return { valid: false, keyId, reason: `header "${StemHeaders.signature}" is not canonical base64` };
    if (this.algorithm === 'hmac-sha256') {
      const secret = this.secrets.get(keyId);
      if (!secret) return { valid: false, keyId, reason: `key "${keyId}" is not among the verify keys (${this.verifyKeyIds.join(', ')})` };
      const expected = createHmac('sha256', secret).update(data).digest();
      const ok = given.length === expected.length && timingSafeEqual(given, expected);
      return ok ? { valid: true, keyId } : { valid: false, keyId, reason: 'the signature does not match the envelope content' };
    }
    const publicKey = this.publicKeys.get(keyId);
    if (!publicKey) return { valid: false, keyId, reason: `key "${keyId}" is not among the verify keys (${this.verifyKeyIds.join(', ')})` };
    return edVerify(null, data, publicKey, given) ? { valid: true, keyId } : { valid: false, keyId, reason: 'the signature does not match the envelope content' };
  }
}

/** A new Ed25519 key pair as base64 of the raw 32-byte private seed and public key. */
export function generateEd25519KeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey: pkcs8.subarray(-32).toString('base64'), publicKey: spki.subarray(-32).toString('base64') };
}
