/** The dashboard's stylesheet (served at `<base>/assets/dashboard.css`; no external fonts or CDN). */
export const DASHBOARD_CSS = `
:root{--bg:#f6f7f9;--fg:#1d232b;--muted:#5d6875;--line:#d9dee4;--card:#fff;--accent:#2f6fde;--ok:#2e8b57;--bad:#c4382f;--warn:#b7791f}
@media (prefers-color-scheme:dark){:root{--bg:#14181d;--fg:#e6e9ed;--muted:#9aa5b1;--line:#2c333b;--card:#1b2027;--accent:#6d9ff5}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;gap:1.5rem;align-items:center;padding:.6rem 1.2rem;background:var(--card);border-bottom:1px solid var(--line);position:sticky;top:0}
header nav{display:flex;gap:.2rem;flex-wrap:wrap}header nav a{padding:.3rem .6rem;border-radius:6px;color:var(--fg);text-decoration:none}
header nav a[aria-current]{background:var(--accent);color:#fff}.brand{font-weight:700;color:var(--fg);text-decoration:none}
.mode{margin-left:auto;display:flex;gap:.5rem;align-items:center}.live-dot{width:.6rem;height:.6rem;border-radius:50%;background:var(--line)}body.connected .live-dot{background:var(--ok)}
main{padding:1rem 1.2rem;max-width:1400px}h1{font-size:1.3rem;margin:.2rem 0 1rem}h2{font-size:1rem;margin:1.4rem 0 .5rem}
a{color:var(--accent)}table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line)}
th,td{padding:.35rem .55rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}th{font-weight:600;color:var(--muted);font-size:.85em}
td.num{text-align:right;font-variant-numeric:tabular-nums}.cards{display:flex;gap:.7rem;flex-wrap:wrap}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.6rem .9rem;min-width:8rem;display:flex;flex-direction:column}
.card .label{color:var(--muted);font-size:.8em}.card .big{font-size:1.5rem;font-weight:600}.card a{color:inherit;text-decoration:none}
.badge{display:inline-block;padding:0 .45rem;border-radius:999px;font-size:.8em;background:var(--line)}
.s-succeeded,.s-completed{background:#d4f0df;color:#17603a}.s-failed{background:#f8d7d4;color:#8c2720}.s-running{background:#d9e6fb;color:#1f4fa3}
.s-retried,.s-suspended,.paused,.warn{background:#fbecc9;color:#7a5210}.s-cancelled{background:#e4e4e4;color:#444}.ro{background:#e6dcfa;color:#4b2a91}
.notice{background:#e3f1ff;border:1px solid #b4d5fb;padding:.5rem .8rem;border-radius:6px;color:#123}.error{background:#fde6e4;border:1px solid #f1b7b1;padding:.5rem .8rem;border-radius:6px;color:#5c1710}
.warning{background:#fff4d6;border:1px solid #f0d48a;padding:.45rem .8rem;border-radius:6px;color:#4d3708}
pre{background:var(--card);border:1px solid var(--line);padding:.6rem;border-radius:6px;overflow:auto;max-height:28rem;margin:0}pre.err{color:var(--bad)}
td pre{max-height:10rem;font-size:.85em}.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem}.facts dt{color:var(--muted)}.facts dd{margin:0}
.filters{display:flex;gap:.7rem;flex-wrap:wrap;align-items:end;margin-bottom:.8rem}.filters label{display:flex;flex-direction:column;font-size:.8em;color:var(--muted)}
input,select,button{font:inherit;padding:.25rem .45rem;border:1px solid var(--line);border-radius:5px;background:var(--card);color:var(--fg)}input.wide{min-width:18rem}
button{cursor:pointer;background:var(--accent);border-color:var(--accent);color:#fff}button.danger{background:var(--bad);border-color:var(--bad)}
form.inline{display:inline;margin-right:.3rem}.hint,.empty{color:var(--muted)}.chart .ok{fill:var(--ok)}.chart .bad{fill:var(--bad)}
.paging a{margin-right:1rem}.tabs a{margin-right:.5rem}.ids{columns:3;font-family:ui-monospace,monospace;font-size:.85em}
`;
