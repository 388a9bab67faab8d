import type { KeyObject } from 'node:crypto';

/** Supported signature algorithms. */
export type SigningAlgorithm = 'hmac-sha256' | 'ed25519';

/** Key material: base64 text, raw bytes, PEM text or (Ed25519) a `KeyObject`. */
export type SigningKeyInput = string | Uint8Array | KeyObject;

/**
 * Options of {@link EnvelopeSigner}. Give several keys to rotate: sign with `activeKey`, keep the
 * old key among the verify keys until every envelope signed with it has been consumed.
 *
 * What a signature guards against: any change to what travels (every field, every nested member,
 * inserted or removed keys, type changes) and envelopes from whoever lacks a key. It covers the
 * task id and attempt, so a verbatim replay of a signed envelope is indistinguishable from an
 * at-least-once redelivery of the same task: it runs again under the same id and attempt, and
 * idempotent handlers (`ctx.idempotencyKey()`) absorb it as they absorb redeliveries. To bound how
 * long a captured envelope stays usable, set `maxAge`: the signature then also covers a
 * `stem-signed-until` header, and workers refuse envelopes past it as `signature-invalid`.
 */
export interface SigningOptions {
  /** @default 'hmac-sha256' */
  readonly algorithm?: SigningAlgorithm;
  /** HMAC-SHA256 secrets by key id (base64 text or bytes). Each one signs and verifies. */
  readonly keys?: Readonly<Record<string, SigningKeyInput>>;
  /** Ed25519 private keys by id: base64 of the raw 32-byte seed or of PKCS#8 DER, PEM, or a KeyObject. */
  readonly privateKeys?: Readonly<Record<string, SigningKeyInput>>;
  /** Ed25519 public keys by id: base64 of the raw 32 bytes or of SPKI DER, PEM, or a KeyObject. */
  readonly publicKeys?: Readonly<Record<string, SigningKeyInput>>;
  /** Key id used to sign; without it this signer only verifies. @default the only signing key, if there is one */
  readonly activeKey?: string;
  /** Refuse unsigned envelopes when verifying. @default true */
  readonly required?: boolean;
  /**
   * Replay window in ms. When signing, writes a signed `stem-signed-until` header of
   * `max(now, notBefore) + maxAge` (a worker re-signs retries, so each attempt gets its own window).
   * When verifying, an envelope past its `stem-signed-until` is refused whether or not this option
   * is set; with it set, a signed envelope without the header is refused too (so set it on
   * producers before workers). Choose it longer than the longest time a task can wait in a queue.
   * @default undefined (signatures do not expire)
   */
  readonly maxAge?: number;
  /** Clock for `maxAge`, in epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** Headers the signer adds besides `stem-signature` and `stem-signature-key` (both in `StemHeaders`). */
export const SigningHeaders = {
  /** Epoch ms after which the signature is no longer accepted; covered by the signature. */
  signedUntil: 'stem-signed-until',
} as const;

/** Environment variables read by `EnvelopeSigner.fromEnv`. */
export const SigningEnv = {
  algorithm: 'STEM_SIGNING_ALGORITHM',
  keys: 'STEM_SIGNING_KEYS',
  publicKeys: 'STEM_SIGNING_PUBLIC_KEYS',
  privateKeys: 'STEM_SIGNING_PRIVATE_KEYS',
  activeKey: 'STEM_SIGNING_ACTIVE_KEY',
  maxAge: 'STEM_SIGNING_MAX_AGE',
} as const;

/** The outcome of verifying one envelope. */
export type SignatureCheck = { readonly valid: true; readonly keyId: string } | { readonly valid: false; readonly reason: string; readonly keyId?: string };
