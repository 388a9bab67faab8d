import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ShutdownMode } from '../core/worker/worker.options.js';
import { type ActionOutcome, DashboardActions } from './dashboard-actions.js';
import { type DashboardAuditLog, InMemoryDashboardAuditLog } from './dashboard-audit.js';
import { DashboardData } from './dashboard-data.js';
import { DashboardEvents, overviewEvent } from './dashboard-events.js';
import { parseSince, readFields, redirect, safeBackPath, send, sendJson, wantsJson } from './dashboard-http.js';
import { DashboardPages } from './dashboard-pages.js';
import { CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, CsrfTokens, loopbackRefusal, parseCookies } from './dashboard-security.js';
import type { DashboardOptions, DashboardRedact, DashboardSources } from './dashboard.options.js';
import { DASHBOARD_CSS } from './assets/dashboard.css.js';
import { DASHBOARD_JS } from './assets/dashboard.js.js';
import { DashboardActionError } from './errors/dashboard-action.error.js';
import { confirmView } from './views/dead-letters.view.js';
import { html } from './views/html.js';
import { layout, type PageContext } from './views/layout.js';

const FLASH_COOKIE = 'stem_dash_flash';

/** A request handler serving the dashboard's pages, assets, actions and live updates; mount it in any Node HTTP server. */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Ends the live-update streams. Closes no store. */
  close(): void;
  /** The audit log the handler records into. */
  readonly audit: DashboardAuditLog;
}

interface Caller {
  readonly who: string;
  readonly cookie: string;
  readonly newCookie: boolean;
}

/**
 * Creates the dashboard's framework-free request handler. Without `guards` it answers only
 * loopback requests; every mutating request needs the CSRF token of the page it came from;
 * `readOnly` hides and refuses every action; each action is recorded in `audit`.
 *
 * @example
 * const handler = createDashboardHandler({ broker, backend, controlStore }, { basePath: '/stem' });
 * createServer((req, res) => void handler(req, res)).listen(3080, '127.0.0.1');
 */
export function createDashboardHandler(sources: DashboardSources, options: DashboardOptions = {}): DashboardHandler {
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  const redact: DashboardRedact = options.redact ?? ((payload) => payload);
  const audit = options.audit ?? new InMemoryDashboardAuditLog();
  const data = new DashboardData(sources, options);
  const actions = new DashboardActions(sources);
  const pages = new DashboardPages(data, audit, redact);
  const csrf = new CsrfTokens(options.csrfSecret);
  const readOnly = options.readOnly ?? false;
  const title = options.title ?? 'Stem';
  const logError = (error: unknown) => console.error('Stem dashboard:', error);
  const events = new DashboardEvents(data, options.liveInterval ?? 2_000, logError);
  const cookiePath = base || '/';

  async function authorize(req: IncomingMessage, res: ServerResponse): Promise<string | null> {
    if (!options.guards?.length) {
      const refusal = loopbackRefusal(req);
      if (refusal) {
        send(res, 403, 'text/plain; charset=utf-8', refusal);
        return null;
      }
      return `local ${req.socket.remoteAddress ?? ''}`.trim();
    }
    let user: string | undefined;
    for (const guard of options.guards) {
      const verdict = await guard(req);
      if (verdict === false) {
        const challenge = (guard as { challenge?: string }).challenge;
        if (challenge) send(res, 401, 'text/plain; charset=utf-8', 'The Stem dashboard needs you to sign in.', { 'www-authenticate': challenge });
        else send(res, 403, 'text/plain; charset=utf-8', 'The Stem dashboard guard refused this request.');
        return null;
      }
      if (typeof verdict === 'string') user = verdict;
    }
    return user ?? req.socket.remoteAddress ?? 'unknown';
  }

  function context(caller: Caller, flash: { notice?: string; error?: string } = {}, user?: string): PageContext {
    return { base, csrf: csrf.tokenFor(caller.cookie), readOnly, title, ...flash, ...(user ? { user } : {}) };
  }

  function cookieHeaders(caller: Caller, extra: string[] = []): Record<string, string[]> {
    const cookies = [...extra];
    if (caller.newCookie) cookies.push(`${CSRF_COOKIE}=${caller.cookie}; Path=${cookiePath}; HttpOnly; SameSite=Strict`);
    return cookies.length ? { 'set-cookie': cookies } : {};
  }

  async function act(
    name: string,
    fields: Record<string, string>,
    who: string,
  ): Promise<{ outcome: ActionOutcome; target: string; confirm?: { action: string; fields: Record<string, string>; label: string } }> {
    const queue = fields.queue ?? '';
    const need = (key: string) => {
      const value = fields[key]?.trim();
      if (!value) throw new DashboardActionError(`the "${name}" action needs the "${key}" field`);
      return value;
    };
    switch (name) {
      case 'dead-letter-replay':
        return { outcome: await actions.replayOne(need('queue'), need('id')), target: `queue ${queue} task ${fields.id}` };
      case 'dead-letter-purge':
        return { outcome: await actions.purgeOne(need('queue'), need('id')), target: `queue ${queue} task ${fields.id}` };
      case 'dead-letters-bulk': {
        const op = fields.op === 'purge' ? 'purge' : 'replay';
        const limit = Number(fields.limit ?? 100);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new DashboardActionError('"At most" must be a whole number from 1 to 10000');
        let since: number | undefined;
        try {
          since = parseSince(fields.since);
        } catch (error) {
          throw new DashboardActionError((error as Error).message);
        }
        const reason = fields.reason?.trim() || undefined;
        const errorType = fields.errorType?.trim() || undefined;
        const filters = { ...(since !== undefined ? { since } : {}), ...(reason ? { reason } : {}), ...(errorType ? { errorType } : {}) };
        const dryRun = fields.dryRun !== 'false';
        const selection = { limit, ...filters };
        const outcome = op === 'purge' ? await actions.purgeSet(need('queue'), selection, dryRun) : await actions.replaySet(need('queue'), selection, dryRun);
        const target = `queue ${queue}${reason ? ` reason ${reason}` : ''}${errorType ? ` error type ${errorType}` : ''}${since !== undefined ? ` dead since ${new Date(since).toISOString()}` : ''}, at most ${limit}`;
        if (!dryRun) return { outcome, target };
        // NOTE: the confirmed request carries the absolute time, the same filters and the count as its limit: it takes the
        // oldest matching entries, which are those the dry run counted unless some were removed meanwhile.
        return {
          outcome,
          target,
          confirm: {
            action: 'dead-letters-bulk',
            fields: { queue, op, limit: String(outcome.count), ...stringFields(filters), dryRun: 'false' },
            label: `${op === 'purge' ? 'Purge' : 'Replay'} ${outcome.count} dead letter(s)`,
          },
        };
      }
      case 'queue-pause':
      case 'queue-resume':
        return { outcome: await actions.setPaused(need('queue'), name === 'queue-pause', who), target: `queue ${queue}` };
      case 'revoke': {
        const ids = need('ids')
          .split(/[\s,]+/)
          .filter(Boolean);
        return { outcome: await actions.revoke(ids, fields.terminate === 'true', who), target: `task ${ids.join(', ')}` };
      }
      case 'worker-shutdown': {
        const mode = (['warm', 'soft', 'hard'].includes(fields.mode ?? '') ? fields.mode : 'warm') as ShutdownMode;
        return { outcome: await actions.shutdown(need('worker'), mode, who), target: `worker ${fields.worker}` };
      }
      case 'schedule-enable':
      case 'schedule-disable':
        return { outcome: await actions.setScheduleEnabled(need('id'), name === 'schedule-enable'), target: `schedule ${fields.id}` };
      case 'schedule-run':
        return { outcome: await actions.runScheduleNow(need('id')), target: `schedule ${fields.id}` };
      case 'workflow-cancel':
        return { outcome: await actions.cancelRun(need('run'), who), target: `run ${fields.run}` };
      case 'workflow-rewind': {
        const dryRun = fields.dryRun !== 'false';
        const outcome = await actions.rewindRun(need('run'), need('step'), dryRun);
        const target = `run ${fields.run} to ${fields.step}`;
        return dryRun
          ? {
              outcome,
              target,
              confirm: { action: 'workflow-rewind', fields: { run: fields.run!, step: fields.step!, dryRun: 'false', back: fields.back ?? '/workflows' }, label: 'Rewind' },
            }
          : { outcome, target };
      }
      default:
        throw new DashboardActionError(`unknown action "${name}"`);
    }
  }

  async function postAction(req: IncomingMessage, res: ServerResponse, name: string, caller: Caller, who: string): Promise<void> {
    const json = wantsJson(req);
    const refuse = (status: number, message: string) => (json ? sendJson(res, status, { error: message }) : send(res, status, 'text/plain; charset=utf-8', message));
    if (readOnly) return refuse(403, 'This Stem dashboard is read-only: actions are turned off (readOnly: true).');
    const origin = req.headers.origin;
    if (origin && origin !== 'null' && (originHost(origin) === undefined || originHost(origin) !== req.headers.host))
      return refuse(403, `Refused a cross-origin request from ${origin}.`);
    let fields: Record<string, string>;
    try {
      fields = await readFields(req);
    } catch (error) {
      return refuse(400, `Could not read the request: ${(error as Error).message}`);
    }
    const token = (req.headers[CSRF_HEADER] as string | undefined) ?? fields[CSRF_FIELD];
    if (caller.newCookie || !csrf.verify(caller.cookie, token)) {
      return refuse(
        403,
        'Refused: this request carries no valid CSRF token. Reload the dashboard page and try again (scripts send the token of the page in the x-stem-csrf header, with the cookie the page set).',
      );
    }
    const back = safeBackPath(fields.back) ?? refererPath(req, base) ?? '/';
    try {
      const result = await act(name, fields, who);
      if (!result.confirm) await audit.record({ at: Date.now(), who, action: name, target: result.target, count: result.outcome.count, ok: true });
      if (json) return sendJson(res, 200, { ok: true, ...result.outcome, ...(result.confirm ? { confirm: result.confirm } : {}) });
      if (result.confirm) {
        const ctx = context(caller, {}, who);
        const body = confirmView(ctx, result.outcome.message, result.outcome.preview ?? [], result.confirm.action, result.confirm.fields, result.confirm.label);
        return send(res, 200, 'text/html; charset=utf-8', layout(ctx, { title: 'Confirm', active: '' }, body));
      }
      return redirect(res, `${base}${back}`, { 'set-cookie': [flashCookie('notice', result.outcome.message)] });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await audit.record({ at: Date.now(), who, action: name, target: fields.queue ?? fields.id ?? fields.run ?? fields.worker ?? '', count: 0, ok: false, detail: message });
      if (!(error instanceof DashboardActionError)) logError(error);
      if (json) return sendJson(res, error instanceof DashboardActionError ? 409 : 500, { error: message });
      return redirect(res, `${base}${back}`, { 'set-cookie': [flashCookie('error', message)] });
    }
  }

  function flashCookie(kind: 'notice' | 'error', message: string): string {
    return `${FLASH_COOKIE}=${encodeURIComponent(JSON.stringify({ [kind]: message }))}; Path=${cookiePath}; HttpOnly; SameSite=Strict; Max-Age=60`;
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/', 'http://dashboard.local');
    let path = url.pathname;
    if (base && (path === base || path.startsWith(`${base}/`))) path = path.slice(base.length) || '/';
    const who = await authorize(req, res);
    if (who === null) return;
    if (path === '/assets/dashboard.css') return send(res, 200, 'text/css; charset=utf-8', DASHBOARD_CSS, { 'cache-control': 'public, max-age=3600' });
    if (path === '/assets/dashboard.js') return send(res, 200, 'text/javascript; charset=utf-8', DASHBOARD_JS, { 'cache-control': 'public, max-age=3600' });
    const cookies = parseCookies(req.headers.cookie);
    const existing = cookies[CSRF_COOKIE];
    const caller: Caller = existing ? { who, cookie: existing, newCookie: false } : { who, cookie: csrf.newCookie(), newCookie: true };
    if (req.method === 'POST' && path.startsWith('/actions/')) return postAction(req, res, path.slice('/actions/'.length), caller, who);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'text/plain; charset=utf-8', `${req.method} is not served here; actions are POST ${base}/actions/<name>.`, { allow: 'GET, HEAD' });
    if (path === '/events') {
      const task = url.searchParams.get('task');
      return task ? events.task(req, res, task) : events.overview(req, res);
    }
    if (path === '/api/overview') return sendJson(res, 200, overviewEvent(await data.overview()));
    let flash: { notice?: string; error?: string } = {};
    const extra: string[] = [];
    if (cookies[FLASH_COOKIE]) {
      try {
        flash = JSON.parse(cookies[FLASH_COOKIE]) as typeof flash;
      } catch {
        flash = {};
      }
      extra.push(`${FLASH_COOKIE}=; Path=${cookiePath}; Max-Age=0`);
    }
    const ctx = context(caller, flash, options.guards?.length ? who : undefined);
    const page = await pages.render(ctx, path, url.searchParams);
    if (page === null) return send(res, 404, 'text/html; charset=utf-8', layout(ctx, { title: 'Not found', active: '' }, notFound(path)), cookieHeaders(caller, extra));
    return send(res, page.status, 'text/html; charset=utf-8', page.body, cookieHeaders(caller, extra));
  }

  const handler = (async (req: IncomingMessage, res: ServerResponse) => {
    try {
      await route(req, res);
    } catch (error) {
      logError(error);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `The Stem dashboard failed to answer: ${error instanceof Error ? error.message : String(error)}`);
      else res.end();
    }
  }) as DashboardHandler;
  return Object.assign(handler, { close: () => events.close(), audit });
}

function notFound(path: string) {
  return html`<p class="empty">Nothing at ${path}.</p>`;
}

function stringFields(values: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
}

/** The host of an `Origin` header; `undefined` when it is not a URL, so a garbled origin is refused as foreign. */
function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

function refererPath(req: IncomingMessage, base: string): string | undefined {
  const referer = req.headers.referer;
  if (!referer) return undefined;
  try {
    const url = new URL(referer);
    if (url.host !== req.headers.host) return undefined;
    if (base && url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return undefined;
    return safeBackPath(url.pathname.slice(base.length) + url.search);
  } catch {
    return undefined;
  }
}
