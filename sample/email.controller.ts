import { Body, Controller, Get, NotFoundException, Param, Post } from '@nestjs/common';
import { StemClient } from '../lib/index.js';

/** HTTP endpoints that enqueue tasks and read their status. */
@Controller()
export class EmailController {
  constructor(private readonly stem: StemClient) {}

  @Post('emails')
  async send(@Body() body: unknown): Promise<{ id: string }> {
    // NOTE: invalid arguments throw InvalidTaskArgsError; StemExceptionFilter (main.ts) turns it into a 400.
    return { id: await this.stem.enqueue('email.send', body, { headers: { 'x-tenant': 'sample' } }) };
  }

  @Post('reports')
  async report(@Body() body: { month?: string }): Promise<{ id: string }> {
    return { id: await this.stem.enqueue('report.build', { month: body.month ?? '2026-10' }) };
  }

  @Get('tasks/:id')
  async status(@Param('id') id: string) {
    const status = await this.stem.getTaskStatus(id);
    if (!status) throw new NotFoundException(`No task ${id}`);
    return status;
  }

  @Get('tasks/:id/wait')
  async wait(@Param('id') id: string) {
    return this.stem.waitForTask(id, { timeout: 10_000 });
  }
}
