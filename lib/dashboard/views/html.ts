import type { DashboardRedact } from '../dashboard.options.js';

/** Markup that is already safe to insert. */
export class Raw {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

type Part = Raw | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Raw) return part.value;
  if (Array.isArray(part)) return part.map(render).join('');
  return escapeHtml(String(part));
}

/** A template tag: interpolated values are escaped, except {@link Raw} ones and nested `html` results. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Raw {
  let out = strings[0]!;
  values.forEach((value, i) => (out += render(value) + strings[i + 1]!));
  return new Raw(out);
}

/** Pretty JSON for a `<pre>` (undefined shows as `—`). */
export function json(value: unknown): string {
  if (value === undefined) return '—';
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/** An epoch ms as an ISO time, or `—`. */
export function time(ms: number | null | undefined): Raw {
  if (ms === null || ms === undefined) return new Raw('—');
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}" title="${iso}">${iso.replace('T', ' ').slice(0, 19)}</time>`;
}

/** A duration in ms, short (`850 ms`, `12 s`, `4 min`, `3 h`, `2 d`). */
export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 1_000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}

/** A query string from the set values (for shareable links). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * An error as the pages show it (`Type: message` and the stack), after `redact` (kind `error`);
 * `undefined` when there is none. What `redact` returns in another shape is shown as JSON.
 */
export function shownError(redact: DashboardRedact, error: unknown, name?: string): string | undefined {
  if (error === undefined || error === null) return undefined;
  const shown = redact(error, { kind: 'error', ...(name ? { name } : {}) });
  if (shown === undefined || shown === null) return undefined;
  const e = shown as { type?: unknown; message?: unknown; stack?: unknown };
  if (typeof shown !== 'object' || typeof e.message !== 'string') return JSON.stringify(shown, null, 2);
  return `${typeof e.type === 'string' ? e.type : 'Error'}: ${e.message}${typeof e.stack === 'string' && e.stack ? `\n\n${e.stack}` : ''}`;
}
