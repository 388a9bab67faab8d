import { Inject, Injectable } from '@nestjs/common';
import type { StemAdapters } from '../adapters/stem-adapters.factory.js';
import { hasBroadcast } from '../core/contracts/broker.js';
import { BroadcastControlChannel } from '../core/control/broadcast-control-channel.js';
import { ControlClient } from '../core/control/control-client.js';
import { STEM_ADAPTERS } from './stem.constants.js';

/**
 * Operates the workers of this app from any process, producer-only ones (`worker: false`)
 * included: `ping`, `stats`, `inspect`, `revoke`, `pause`/`resume`, `shutdown`,
 * `setConcurrency`, `rateLimit` and `listWorkers` (see {@link ControlClient}).
 *
 * @example
 * @Controller('ops')
 * export class OpsController {
 *   constructor(private readonly control: StemControl) {}
 *
 *   @Post('revoke/:id')
 *   revoke(@Param('id') id: string) {
 *     return this.control.revoke([id], { terminate: true, reason: 'cancelled by support' });
 *   }
 * }
 */
@Injectable()
export class StemControl extends ControlClient {
  constructor(@Inject(STEM_ADAPTERS) adapters: StemAdapters) {
    super({
      ...(hasBroadcast(adapters.broker) ? { channel: new BroadcastControlChannel(adapters.broker) } : {}),
      ...(adapters.revokeStore ? { store: adapters.revokeStore } : {}),
    });
  }
}
