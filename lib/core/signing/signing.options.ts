import type { KeyObject } from 'node:crypto';

/** Supported signature algorithms. */
export type SigningAlgorithm = 'hmac-sha256' | 'ed25519';

/** Key material: base64 text, raw bytes, PEM text or (Ed25519) a `KeyObject`. */
export type SigningKeyInput = string | Uint8Array | KeyObject;

/**
 * Options of {@link EnvelopeSigner}. Give several keys to rotate: sign with `activeKey`, keep the
 * old key among the verify keys until every envelope signed with it has been consumed.
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
}

/** Environment variables read by `EnvelopeSigner.fromEnv`. */
export const SigningEnv = {
  algorithm: 'STEM_SIGNING_ALGORITHM',
  keys: 'STEM_SIGNING_KEYS',
  publicKeys: 'STEM_SIGNING_PUBLIC_KEYS',
  privateKeys: 'STEM_SIGNING_PRIVATE_KEYS',
  activeKey: 'STEM_SIGNING_ACTIVE_KEY',
} as const;

/** The outcome of verifying one envelope. */
export type SignatureCheck =
  | { readonly valid: true; readonly keyId: string }
  | { readonly valid: false; readonly reason: string; readonly keyId?: string };
