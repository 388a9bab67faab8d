import { html, type Raw } from './html.js';

/** What every page needs from the request. */
export interface PageContext {
  /** The dashboard's base path (`/stem`). */
  readonly base: string;
  /** The CSRF token for this browser. */
  readonly csrf: string;
  readonly readOnly: boolean;
  readonly title: string;
  /** A result line from the last action. */
  readonly notice?: string;
  readonly error?: string;
  /** Who the guard says is signed in. */
  readonly user?: string;
}

const NAV: readonly [string, string][] = [
  ['', 'Overview'],
  ['/tasks', 'Tasks'],
  ['/dead-letters', 'Dead letters'],
  ['/workers', 'Workers'],
  ['/schedules', 'Schedules'],
  ['/workflows', 'Workflows'],
  ['/audit', 'Audit'],
];

/** The page around `body`: nav, notices, assets. */
export function layout(ctx: PageContext, page: { title: string; active: string; live?: string }, body: Raw): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="stem-csrf" content="${ctx.csrf}">
<meta name="stem-base" content="${ctx.base}">
<title>${page.title} · ${ctx.title}</title>
<link rel="stylesheet" href="${ctx.base}/assets/dashboard.css">
<script src="${ctx.base}/assets/dashboard.js" defer></script>
</head>
<body${page.live ? html` data-live="${page.live}"` : ''}>
<header>
  <a class="brand" href="${ctx.base}/">${ctx.title}</a>
  <nav>${NAV.map(([path, label]) => html`<a href="${ctx.base}${path || '/'}" ${page.active === path ? html` aria-current="page"` : ''}>${label}</a>`)}</nav>
  <span class="mode">${ctx.readOnly ? html`<span class="badge ro" data-testid="read-only">read-only</span>` : ''}${ctx.user ? html` <span class="user">${ctx.user}</span>` : ''}<span class="live-dot" title="live updates"></span></span>
</header>
<main>
<h1>${page.title}</h1>
${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ''}
${ctx.error ? html`<p class="error" role="alert">${ctx.error}</p>` : ''}
${body}
</main>
</body>
</html>`.value;
}

/** A button that posts an action with the CSRF token, or nothing in read-only mode. */
export function actionForm(
  ctx: PageContext,
  action: string,
  fields: Record<string, string | number | undefined>,
  label: string,
  options: { confirm?: string; danger?: boolean } = {},
): Raw {
  if (ctx.readOnly) return html``;
  return html`<form method="post" action="${ctx.base}/actions/${action}" class="inline" ${options.confirm ? html` data-confirm="${options.confirm}"` : ''}>
    <input type="hidden" name="_csrf" value="${ctx.csrf}" />${Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => html`<input type="hidden" name="${k}" value="${String(v)}" />`)}<button
      type="submit"
      class="${options.danger ? 'danger' : 'action'}"
      data-action="${action}"
    >
      ${label}
    </button>
  </form>`;
}

/** A state badge. */
export function badge(state: string): Raw {
  return html`<span class="badge s-${state}">${state}</span>`;
}

/** A page of rows, or a line saying there are none. */
export function tableOf(headers: readonly string[], rows: readonly Raw[], empty: string, testid?: string): Raw {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table${testid ? html` data-testid="${testid}"` : ''}><thead><tr>${headers.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`;
}
