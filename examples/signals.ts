import { SimpleTaskRegistry, Stem, Worker } from 'nestjs-stem/core';
import { InMemoryBroker, InMemoryResultBackend } from 'nestjs-stem/memory';

const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend();
const registry = new SimpleTaskRegistry([
  { name: 'billing.charge', options: { queue: 'billing' }, call: () => Promise.reject(new Error('card declined')) },
  { name: 'email.send', options: { queue: 'emails' }, call: () => 'sent' },
]);

// #region signals
// One hub: the producer's. A worker given this producer emits on it too.
const stem = new Stem({ broker, backend, registry, signals: { disabled: ['task-progress'] } });

const off = stem.signals.on('task-failed', ({ envelope, error }) => console.log(`alert: ${envelope.name} ${error.message}`), {
  filter: { queue: 'billing' }, // or a predicate: (p) => p.envelope.name.startsWith('billing.')
});
stem.signals.on('worker-ready', ({ queues }) => console.log(`ready on ${queues.join(', ')}`), { once: true });
stem.signals.on('task-postrun', ({ envelope, state }) => console.log(`${envelope.name} ${state}`));
const sent = stem.signals.next('task-succeeded', { task: 'email.send' }); // a promise of the next one

const worker = new Worker({ broker, backend, registry, producer: stem, queues: ['billing', 'emails'] });
await worker.start();
await stem.enqueue('billing.charge', {});
await stem.enqueue('email.send', {});
console.log((await sent).result);
off(); // stop listening
// #endregion

await worker.close();
