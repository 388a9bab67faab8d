import 'reflect-metadata';
import { Body, Controller, type INestApplication, Injectable, Module, Post, UseFilters } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { IsEmail, IsString } from 'class-validator';
import { afterEach, describe, expect, it } from 'vitest';
import { StemClient, StemExceptionFilter, StemModule, Task } from '../lib/index.js';

class SendEmailDto {
  @IsEmail()
  to!: string;

  @IsString()
  subject!: string;
}

@Injectable()
class EmailTasks {
  @Task({ name: 'email.send', queue: 'emails' })
  async send(args: SendEmailDto): Promise<string> {
    return args.to;
  }
}

@Controller('emails')
class EmailController {
  constructor(private readonly stem: StemClient) {}

  @Post()
  async send(@Body() body: SendEmailDto): Promise<{ id: string }> {
    return { id: await this.stem.enqueue('email.send', body) };
  }
}

@Controller('filtered')
@UseFilters(StemExceptionFilter)
class FilteredController extends EmailController {}

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function serve(setup: 'none' | 'global' | 'provider'): Promise<(path: string, body: unknown) => Promise<{ status: number; json: any }>> {
  @Module({
    imports: [StemModule.forRoot({ broker: 'memory://', worker: { queues: ['emails'] } })],
    controllers: [EmailController, FilteredController],
    providers: [EmailTasks, ...(setup === 'provider' ? [{ provide: APP_FILTER, useClass: StemExceptionFilter }] : [])],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  if (setup === 'global') app.useGlobalFilters(new StemExceptionFilter());
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return async (path, body) => {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, json: await response.json() };
  };
}

const invalid = { to: 'not-an-email', subject: 42 };

describe('StemExceptionFilter over HTTP', () => {
  it('without the filter an invalid DTO answers 500 (what the filter fixes)', async () => {
    const post = await serve('none');
    expect((await post('/emails', invalid)).status).toBe(500);
  });

  for (const setup of ['global', 'provider'] as const) {
    it(`registered as a ${setup} filter, answers 400 with every violation; valid input still 201`, async () => {
      const post = await serve(setup);
      const { status, json } = await post('/emails', invalid);
      expect(status).toBe(400);
      expect(json).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: ['to must be an email', 'subject must be a string'],
        task: 'email.send',
        violations: [
          { property: 'to', constraints: { isEmail: 'to must be an email' } },
          { property: 'subject', constraints: { isString: 'subject must be a string' } },
        ],
      });
      expect((await post('/emails', { to: 'a@b.co', subject: 'hi' })).status).toBe(201);
    });
  }

  it('@UseFilters(StemExceptionFilter) on one controller maps only that controller', async () => {
    const post = await serve('none');
    expect((await post('/filtered', invalid)).status).toBe(400);
    expect((await post('/emails', invalid)).status).toBe(500);
  });
});
