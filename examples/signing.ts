import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Module } from '@nestjs/common';
import { generateEd25519KeyPair, StemModule } from 'nestjs-stem';

const oldSecret = randomBytes(32).toString('base64');
const newSecret = randomBytes(32).toString('base64');

// #region signing
// STEM_SIGNING_KEYS="k1:<base64>,k2:<base64>" STEM_SIGNING_ACTIVE_KEY=k2 STEM_SIGNING_MAX_AGE=86400000   (read by default)
@Module({
  imports: [
    StemModule.forRoot({
      broker: 'memory://',
      signing: { keys: { k1: oldSecret, k2: newSecret }, activeKey: 'k2', maxAge: 86_400_000 }, // maxAge: optional replay window
    }),
  ],
})
export class SignedModule {}

// Ed25519: STEM_SIGNING_ALGORITHM=ed25519 STEM_SIGNING_PRIVATE_KEYS=... STEM_SIGNING_PUBLIC_KEYS=...
export const { privateKey, publicKey } = generateEd25519KeyPair();
// #endregion
