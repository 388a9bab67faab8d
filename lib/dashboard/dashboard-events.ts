import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StatusWatch } from '../core/contracts/result-backend.js';
import type { DashboardData, Overview } from './dashboard-data.js';
import { SECURITY_HEADERS } from './dashboard-http.js';
import { throughputChart } from './views/overview.view.js';

/** What the overview's live updates carry. */
export interface OverviewEvent {
  readonly workers: number;
  readonly finished: number;
  readonly states: Overview['states'];
  readonly queues: readonly Record<string, string | number>[];
  /** The throughput chart, as the page renders it. */
  readonly chart: string;
}

/** The live form of an overview (what the page's cells show). */
export function overviewEvent(o: Overview): OverviewEvent {
  const shown = (n: number | null) => (n === null ? '—' : n);
  return {
    workers: o.workers.length,
    finished: o.throughput.reduce((n, b) => n + b.succeeded + b.failed, 0),
    states: o.states,
    queues: o.queues.map((q) => ({
      queue: q.queue,
      pending: q.pending,
      inflight: q.inflight,
      delayed: shown(q.delayed),
      deadLetters: q.deadLetters === null ? '—' : `${q.deadLetters}${q.deadLettersCapped ? '+' : ''}`,
      doneLastHour: shown(q.doneLastHour),
    })),
    chart: throughputChart(o.throughput).value,
  };
}

/**
 * Server-sent events: one overview poller shared by every open overview page (it runs only while
 * one is open, and sends only changes), and one result-backend watch per open task page.
 */
export class DashboardEvents {
  private readonly overviewClients = new Set<ServerResponse>();
  private readonly taskClients = new Set<ServerResponse>();
  private timer?: NodeJS.Timeout;
  private last = '';
  private closed = false;

  constructor(
    private readonly data: DashboardData,
    private readonly interval: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Starts an event stream; `onClose` runs once, when the client or the server ends it (the request and the response both report a close). */
  private open(req: IncomingMessage, res: ServerResponse, clients: Set<ServerResponse>, onClose?: () => void): void {
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': stem dashboard\n\n');
    clients.add(res);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clients.delete(res);
      onClose?.();
      if (this.overviewClients.size === 0) this.stopTicker();
    };
    req.on('close', end);
    res.on('close', end);
  }

  /** Streams overview changes to this client. */
  overview(req: IncomingMessage, res: ServerResponse): void {
    this.open(req, res, this.overviewClients);
    if (this.last) res.write(this.last);
    this.timer ??= setInterval(() => void this.tick(), this.interval);
    void this.tick();
  }

  /**
   * Streams the status writes of one task to this client. The watch is closed exactly once: when
   * the stream ends, or as soon as it is established if the stream ended first.
   */
  async task(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const backend = this.data.backend;
    let watch: StatusWatch | undefined;
    let gone = false;
    let closed = false;
    const closeWatch = () => {
      if (closed || !watch) return;
      closed = true;
      watch.close().catch(this.onError);
    };
    this.open(req, res, this.taskClients, () => {
      gone = true;
      closeWatch();
    });
    if (!backend) return;
    watch = await backend.watch(id, (status) => {
      if (res.writableEnded || res.destroyed) return;
      res.write(`event: status\ndata: ${JSON.stringify({ state: status.state, attempt: status.attempt, progress: status.progress ?? null, updatedAt: status.updatedAt })}\n\n`);
    });
    if (gone) closeWatch();
  }

  private ticking = false;

  private async tick(): Promise<void> {
    if (this.ticking || this.closed) return;
    this.ticking = true;
    try {
      const message = `event: overview\ndata: ${JSON.stringify(overviewEvent(await this.data.overview()))}\n\n`;
      if (message !== this.last) {
        this.last = message;
        for (const client of this.overviewClients) client.write(message);
      } else for (const client of this.overviewClients) client.write(': tick\n\n');
    } catch (error) {
      this.onError(error);
    } finally {
      this.ticking = false;
    }
  }

  private stopTicker(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.last = '';
  }

  /** Ends every stream and stops the poller. */
  close(): void {
    this.closed = true;
    this.stopTicker();
    for (const client of [...this.overviewClients, ...this.taskClients]) client.end();
    this.overviewClients.clear();
    this.taskClients.clear();
  }
}
