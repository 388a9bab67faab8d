import { Stem } from 'nestjs-stem/core';
import { InMemoryBroker, InMemoryResultBackend } from 'nestjs-stem/memory';

const broker = new InMemoryBroker();
const backend = new InMemoryResultBackend();
const stem = new Stem({ broker, backend });
// #region scope
const id = await stem.withMeta({ requestId: 'req-42', user: 'u1' }, async () => {
  await stem.enqueue('audit.log', { event: 'signup' }); // meta: requestId, user
  return stem.withMeta({ user: 'u2' }, () => stem.enqueue('email.send', { to: 'a@b.co' }, { meta: { template: 'welcome' } }));
});
const { requestId, user, template } = (await stem.getTaskStatus(id))!.meta;
console.log(requestId, user, template); // req-42 u2 welcome
// #endregion
await broker.close();
