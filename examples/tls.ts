// STEM_BROKER_URL=rediss://redis.internal:6380 STEM_TLS_CA_CERT=/etc/stem/ca.pem node dist/examples/tls.js
import { createStemAdapters, SimpleTaskRegistry, Stem, Worker } from 'nestjs-stem';

// createStemAdapters (like StemModule and the `stem` CLI) reads STEM_TLS_CA_CERT, STEM_TLS_CLIENT_CERT,
// STEM_TLS_CLIENT_KEY and STEM_TLS_ALLOW_INSECURE; a `tls` option would win over them one by one.
const adapters = await createStemAdapters({ broker: process.env.STEM_BROKER_URL ?? 'rediss://127.0.0.1:6380' });
const registry = new SimpleTaskRegistry([{ name: 'tls.hello', call: (_ctx, { name }: { name: string }) => `hello ${name}, over TLS` }]);
const worker = new Worker({ broker: adapters.broker, backend: adapters.backend!, registry, queues: ['default'] });
await worker.start();
const stem = new Stem({ broker: adapters.broker, backend: adapters.backend!, registry });
const id = await stem.enqueue('tls.hello', { name: 'Ada' });
console.log((await stem.waitForTask<string>(id, { timeout: 5_000 })).value); // hello Ada, over TLS
await worker.close();
await adapters.close();
