import { defineTask, SimpleTaskRegistry, Stem, Worker } from 'nestjs-stem/core';
import { InMemoryBroker, InMemoryResultBackend } from 'nestjs-stem/memory';

const mailer = { send: async (args: { to: string; subject: string }) => args.to.includes('@') };
const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend();
const registry = new SimpleTaskRegistry();
const stem = new Stem({ broker, backend, registry });

// #region define
// tasks.ts, shared by the producer and the worker
export const sendEmail = defineTask<{ to: string; subject: string }, { delivered: boolean }>('email.send', { queue: 'emails', maxRetries: 3 });

registry.register(sendEmail.handler(async (ctx, args) => ({ delivered: await mailer.send(args) })));
const worker = new Worker({ broker, backend, registry, queues: ['emails'] });
await worker.start();
const result = await sendEmail.enqueueAndWait(stem, { to: 'a@b.c', subject: 'Hi' }); // result.value: { delivered: boolean }
const id = await stem.build(sendEmail, { to: 'ops@b.c', subject: 'Report' }).header('x-tenant', 'acme').priority(8).delay(5_000).queue('emails').expires(60_000).enqueue();
// #endregion
console.log(result.value?.delivered, (await stem.getTaskStatus(id))?.state); // true queued (delayed 5 s)
await worker.close();
