import { afterAll, describe, expect, it } from 'vitest';
import { PostgresBroker } from '../../lib/adapters/postgres/index.js';
import { fetchWithin, makeEnvelope, sleep, uniqueName } from '../../lib/testing/contract-helpers.js';
import { postgresAvailable } from '../support/services.js';
import { dropSchema, POSTGRES_URL, recordingLogger, testSchema } from '../postgres/postgres-test-kit.js';
import { postgresBadInputFixture } from './bad-input.fixtures.js';
import { runBadInputTests } from './bad-input.suite.js';

const available = await postgresAvailable();
const schema = testSchema();

describe.runIf(available)('PostgresBroker with bad input', () => {
  afterAll(() => dropSchema(schema));
  runBadInputTests(() => postgresBadInputFixture(schema));

  it('a requeue keeps the row on its queue, whatever queue the replacement envelope names', async () => {
    const broker = await PostgresBroker.connect(POSTGRES_URL, { schema, logger: recordingLogger() });
    try {
      const queue = uniqueName('rq');
      const env = makeEnvelope(queue);
      await broker.publish(env);
      const consumer = broker.consume({ queues: [queue], consumerName: 'c' });
      const [d] = await fetchWithin(consumer, 1, 2_000);
      await broker.nack(d!, { requeue: true, envelope: { ...env, queue: 'nobody-consumes-this', attempt: 1 } });
      expect(await broker.pendingCount(queue)).toBe(1);
      expect(await broker.pendingCount('nobody-consumes-this')).toBe(0);
      const [again] = await fetchWithin(consumer, 1, 2_000);
      expect(again?.envelope).toMatchObject({ id: env.id, attempt: 1 });
      await consumer.close();
    } finally {
      await broker.close();
    }
  });

  it('deletes dead letters past the retention in a periodic sweep', async () => {
    const broker = await PostgresBroker.connect(POSTGRES_URL, { schema, logger: recordingLogger(), deadLetterRetention: 300, deadLetterSweepInterval: 100 });
    try {
      const queue = uniqueName('ret');
      const env = makeEnvelope(queue);
      await broker.publish(env);
      const consumer = broker.consume({ queues: [queue], consumerName: 'c' });
      await broker.deadLetter((await fetchWithin(consumer, 1, 2_000))[0]!, 'expired');
      expect((await broker.listDeadLetters(queue)).items).toHaveLength(1);
      // The sweep runs every 100 ms and the letter is past its retention 300 ms after it died; on a
      // loaded machine a sweep can take longer, so wait for it (up to 10 s) instead of a fixed time.
      const deadline = Date.now() + 10_000;
      let left = (await broker.listDeadLetters(queue)).items;
      while (left.length > 0 && Date.now() < deadline) {
        await sleep(100);
        left = (await broker.listDeadLetters(queue)).items;
      }
      expect(left).toEqual([]);
      await consumer.close();
    } finally {
      await broker.close();
    }
  });
});
