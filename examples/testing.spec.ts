import 'reflect-metadata';
import { Body, Controller, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { StemClient } from 'nestjs-stem';
import { FakeStem } from 'nestjs-stem/testing';
import { expect, it } from 'vitest';

@Controller('emails')
class EmailController {
  constructor(private readonly stem: StemClient) {}

  @Post()
  async send(@Body() body: { to: string; subject: string }) {
    return { id: await this.stem.enqueue('email.send', body) };
  }
}

it('FakeStem records what a controller enqueues', async () => {
  // #region fake
  const fake = new FakeStem();
  const moduleRef = await Test.createTestingModule({ controllers: [EmailController], providers: [fake.provider()] }).compile();
  await moduleRef.get(EmailController).send({ to: 'a@b.co', subject: 'hi' });
  expect(fake.enqueued('email.send')).toHaveLength(1);
  fake.succeed(fake.enqueued()[0]!.id, { delivered: true });
  // #endregion
  expect((await fake.waitForTask(fake.enqueued()[0]!.id)).value).toEqual({ delivered: true });
});
