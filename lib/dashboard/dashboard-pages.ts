import type { ScheduleEntry } from '../core/contracts/schedule-store.js';
import type { TaskState } from '../core/envelope.js';
import type { WorkflowStatus } from '../core/workflow/run-state.js';
import type { DashboardAuditLog } from './dashboard-audit.js';
import { type DashboardData, TASK_STATES } from './dashboard-data.js';
import { listDeadLetters } from './dashboard-dead-letters.js';
import type { DashboardRedact } from './dashboard.options.js';
import { deadLettersView } from './views/dead-letters.view.js';
import { groupView } from './views/groups.view.js';
import { html, type Raw } from './views/html.js';
import { layout, type PageContext } from './views/layout.js';
import { overviewView } from './views/overview.view.js';
import { schedulesView } from './views/schedules.view.js';
import { taskDetailView, tasksView } from './views/tasks.view.js';
import { WORKFLOW_STATUSES, workflowRunView, workflowsView } from './views/workflows.view.js';
import { auditView, workersView } from './views/workers.view.js';

const int = (value: string | null, fallback: number) => {
  const n = Number(value);
  return value !== null && Number.isInteger(n) && n >= 0 ? n : fallback;
};

/** A rendered page: its HTML and the HTTP status to answer with. */
export interface RenderedPage {
  readonly status: number;
  readonly body: string;
}

/** Renders the dashboard's pages from the stores; `null` for an unknown path. */
export class DashboardPages {
  constructor(
    private readonly data: DashboardData,
    private readonly audit: DashboardAuditLog,
    private readonly redact: DashboardRedact,
  ) {}

  /** The page at `path` (below the base path), as HTML with its status (404 for an unknown group). */
  async render(ctx: PageContext, path: string, params: URLSearchParams): Promise<RenderedPage | null> {
    const page = (title: string, active: string, body: Raw, live?: string, status = 200): RenderedPage => ({
      status,
      body: layout(ctx, { title, active, ...(live ? { live } : {}) }, body),
    });
    if (path === '/' || path === '') return page('Overview', '', overviewView(ctx, await this.data.overview()), 'overview');
    if (path === '/tasks') return page('Tasks', '/tasks', await this.tasks(ctx, params));
    const badId = (prefix: string) =>
      page(
        'Bad address',
        '',
        html`<p class="error">
          The id in this address is not valid percent-encoding: ${path.slice(prefix.length)}. Open the item from a list, or encode the id with encodeURIComponent.
        </p>`,
        undefined,
        400,
      );
    if (path.startsWith('/tasks/')) {
      const id = decodedId(path, '/tasks/');
      if (id === null) return badId('/tasks/');
      return page(`Task ${id}`, '/tasks', taskDetailView(ctx, id, await this.data.task(id, params.get('queue') ?? undefined), this.redact, Boolean(this.data.sources.groupStore)));
    }
    if (path.startsWith('/groups/') && this.data.sources.groupStore) {
      const id = decodedId(path, '/groups/');
      if (id === null) return badId('/groups/');
      const group = await this.data.sources.groupStore.getGroup(id);
      return page(`Group ${id}`, '', groupView(ctx, id, group), undefined, group ? 200 : 404);
    }
    if (path === '/dead-letters') return page('Dead letters', '/dead-letters', await this.deadLetters(ctx, params));
    if (path === '/workers') {
      const workers = await this.data.workers();
      const [queues, paused] = await Promise.all([this.data.queueNames(workers), this.data.pausedQueues()]);
      return page('Workers', '/workers', workersView(ctx, workers, queues, paused, Date.now()));
    }
    if (path === '/schedules') {
      const store = this.data.sources.scheduleStore;
      const entries: ScheduleEntry[] | null = store ? await store.list() : null;
      return page('Schedules', '/schedules', schedulesView(ctx, entries));
    }
    if (path === '/workflows') return page('Workflows', '/workflows', await this.workflows(ctx, params));
    if (path.startsWith('/workflows/')) {
      const id = decodedId(path, '/workflows/');
      if (id === null) return badId('/workflows/');
      const store = this.data.sources.workflowStore;
      const run = store ? await store.get(id) : null;
      return page(`Run ${id}`, '/workflows', workflowRunView(ctx, run, run && store ? await store.listSteps(id) : [], this.redact));
    }
    if (path === '/audit') return page('Audit', '/audit', auditView(ctx, await this.audit.list(200)));
    return null;
  }

  private async tasks(ctx: PageContext, params: URLSearchParams): Promise<Raw> {
    const state = params.get('state');
    const argsText = params.get('args')?.trim() || undefined;
    let args: unknown;
    let problem: string | undefined;
    if (argsText) {
      try {
        args = JSON.parse(argsText) as unknown;
      } catch (error) {
        problem = `"Args contain" must be JSON, e.g. {"orderId":"42"}: ${(error as Error).message}`;
      }
    }
    const q = {
      ...(state && TASK_STATES.includes(state as TaskState) ? { state: state as TaskState } : {}),
      ...(params.get('queue') ? { queue: params.get('queue')! } : {}),
      ...(params.get('name') ? { name: params.get('name')! } : {}),
      ...(params.get('id') ? { id: params.get('id')!.trim() } : {}),
      ...(args !== undefined ? { args } : {}),
      ...(argsText ? { argsText } : {}),
      offset: int(params.get('offset'), 0),
      limit: Math.min(200, int(params.get('limit'), 50)) || 50,
    };
    if (problem)
      return html`<p class="error">${problem}</p>
        ${tasksView(ctx, q, { items: [] }, this.data.canSearchArgs)}`;
    try {
      return tasksView(ctx, q, await this.data.tasks(q), this.data.canSearchArgs);
    } catch (error) {
      return html`<p class="error">${(error as Error).message}</p>
        ${tasksView(ctx, q, { items: [] }, this.data.canSearchArgs)}`;
    }
  }

  private async deadLetters(ctx: PageContext, params: URLSearchParams): Promise<Raw> {
    const queues = await this.data.queueNames(await this.data.workers());
    const queue = params.get('queue') ?? queues[0] ?? '';
    const q = {
      queue,
      ...(params.get('reason') ? { reason: params.get('reason')! } : {}),
      ...(params.get('errorType') ? { errorType: params.get('errorType')! } : {}),
      offset: int(params.get('offset'), 0),
    };
    return deadLettersView(ctx, queues.includes(queue) || !queue ? queues : [...queues, queue], q, queue ? await listDeadLetters(this.data.broker, q) : null, this.redact);
  }

  private async workflows(ctx: PageContext, params: URLSearchParams): Promise<Raw> {
    const store = this.data.sources.workflowStore;
    const status = params.get('status') as WorkflowStatus | null;
    const valid = status && WORKFLOW_STATUSES.includes(status) ? status : undefined;
    const offset = int(params.get('offset'), 0);
    if (!store) return workflowsView(ctx, valid, null, [], offset, false);
    const runs = await store.listRuns({ ...(valid ? { status: valid } : {}), limit: 51, offset });
    const watchers = await store.listWatchers(undefined, { limit: 100 });
    return workflowsView(ctx, valid, runs.slice(0, 50), watchers, offset, runs.length > 50);
  }
}

/** The id after `prefix` in `path`, percent-decoded; `null` when its encoding is malformed (e.g. `%E0%A4%A`). */
function decodedId(path: string, prefix: string): string | null {
  try {
    return decodeURIComponent(path.slice(prefix.length));
  } catch {
    return null;
  }
}
