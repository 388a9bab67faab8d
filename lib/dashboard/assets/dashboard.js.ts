/**
 * The dashboard's only script (served at `<base>/assets/dashboard.js`), plain browser JavaScript
 * with no library: confirmation of dangerous forms, and live updates over server-sent events.
 * Every page works without it.
 */
export const DASHBOARD_JS = `(() => {
  'use strict';
  const base = document.querySelector('meta[name="stem-base"]')?.content ?? '';
  document.addEventListener('submit', (event) => {
    const form = event.target;
    const question = form.getAttribute && form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) event.preventDefault();
  });
  const live = (url, handlers) => {
    if (!window.EventSource) return;
    const source = new EventSource(url);
    source.onopen = () => document.body.classList.add('connected');
    source.onerror = () => document.body.classList.remove('connected');
    for (const [name, handler] of Object.entries(handlers)) source.addEventListener(name, (e) => handler(JSON.parse(e.data)));
    window.addEventListener('pagehide', () => source.close());
  };
  const set = (key, value) => {
    for (const el of document.querySelectorAll('[data-stat="' + CSS.escape(key) + '"]')) {
      const target = el.querySelector('a') ?? el;
      if (target.textContent !== String(value)) { target.textContent = String(value); el.classList.add('changed'); }
    }
  };
  if (document.body.dataset.live === 'overview') {
    live(base + '/events?topic=overview', {
      overview: (o) => {
        set('workers', o.workers);
        set('finished', o.finished);
        for (const [state, n] of Object.entries(o.states ?? {})) set('state:' + state, n);
        for (const q of o.queues) for (const [field, value] of Object.entries(q)) if (field !== 'queue') set(q.queue + ':' + field, value);
        const chart = document.querySelector('[data-live-chart]');
        if (chart && o.chart) chart.innerHTML = o.chart;
      },
    });
  }
  const task = document.querySelector('[data-live-task]');
  if (task) {
    live(base + '/events?task=' + encodeURIComponent(task.dataset.liveTask), {
      status: (s) => {
        const state = task.querySelector('[data-field="state"]');
        if (state) state.innerHTML = '<span class="badge s-' + s.state + '">' + s.state + '</span>';
        const attempt = task.querySelector('[data-field="attempt"]');
        if (attempt) attempt.textContent = String(s.attempt);
        const progress = task.querySelector('[data-field="progress"]');
        if (progress && s.progress) progress.textContent = s.progress.percent + '%';
        if (['succeeded', 'failed', 'cancelled'].includes(s.state)) setTimeout(() => location.reload(), 300);
      },
    });
  }
})();
`;
