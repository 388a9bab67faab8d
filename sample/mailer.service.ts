import { Injectable, Logger } from '@nestjs/common';

/** A pretend mail transport; a real app would inject an SMTP or API client here. */
@Injectable()
export class MailerService {
  private readonly logger = new Logger('Mailer');
  private sent = 0;

  async send(to: string, subject: string): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, 20));
    this.sent++;
    this.logger.log(`sent "${subject}" to ${to}`);
    return `msg-${this.sent}`;
  }
}
