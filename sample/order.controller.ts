import { Body, Controller, Get, NotFoundException, Param, Post } from '@nestjs/common';
import { StemClient } from '../lib/index.js';
import { FulfilOrderWorkflow, type Shipment } from './fulfil-order.workflow.js';
import type { FulfilOrderDto } from './order.dto.js';

/** HTTP endpoints that start order workflows, deliver shipment events and read runs. */
@Controller('orders')
export class OrderController {
  constructor(private readonly stem: StemClient) {}

  @Post()
  async create(@Body() body: FulfilOrderDto): Promise<{ runId: string }> {
    // NOTE: invalid params throw InvalidWorkflowParamsError; StemExceptionFilter (main.ts) turns it into a 400.
    return { runId: await this.stem.workflows.start(FulfilOrderWorkflow, body) };
  }

  @Post(':orderId/shipment')
  async shipped(@Param('orderId') orderId: string, @Body() body: Shipment): Promise<{ resumed: number }> {
    return { resumed: await this.stem.workflows.emit(`shipment.${orderId}`, body) };
  }

  @Get('runs/:runId')
  async run(@Param('runId') runId: string) {
    const state = await this.stem.workflows.get(runId);
    if (!state) throw new NotFoundException(`No workflow run ${runId}`);
    return { state, steps: await this.stem.workflows.steps(runId) };
  }

  @Get('runs/:runId/wait')
  async wait(@Param('runId') runId: string) {
    return this.stem.workflows.waitForCompletion(runId, { timeout: 10_000 });
  }
}
