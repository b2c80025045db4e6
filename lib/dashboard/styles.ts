/**
 * The dashboard's stylesheet, served as `assets/dashboard.css` (no inline
 * styles: the Content-Security-Policy allows the dashboard's own
 * stylesheets only).
 *
 * @module
 */

/** The stylesheet. */
export const DASHBOARD_CSS: string = `
:root { --fg:#1f2328; --muted:#656d76; --line:#d0d7de; --bg:#f6f8fa; --card:#fff;
  --waiting:#8250df; --queued:#0969da; --running:#bf8700; --completed:#1a7f37; --failed:#cf222e; --cancelled:#6e7781; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; align-items:center; gap:18px; padding:10px 24px; background:#24292f; color:#fff; }
header a { color:#fff; text-decoration:none; }
.brand { font-weight:700; font-size:18px; letter-spacing:.5px; }
nav { display:flex; gap:4px; flex:1; }
nav a { padding:6px 10px; border-radius:6px; color:#d0d7de; }
nav a.current, nav a:hover { background:#32383f; color:#fff; }
.live { font-size:12px; color:#7ee2a8; }
.live::before { content:"●"; margin-right:4px; }
.live.stale { color:#ff8182; }
.ro { font-size:12px; color:#d0d7de; border:1px solid #57606a; border-radius:10px; padding:1px 8px; }
main { max-width:1180px; margin:0 auto; padding:18px 24px 40px; }
h1 { font-size:22px; margin:6px 0 16px; display:flex; gap:10px; align-items:center; flex-wrap:wrap; }
h2 { font-size:15px; margin:0 0 10px; }
h2 small { color:var(--muted); font-weight:400; margin-left:6px; }
.panel { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px 16px; margin:0 0 16px; overflow-x:auto; }
.cards { display:grid; grid-template-columns:repeat(6,1fr); gap:12px; margin-bottom:16px; }
.card { background:var(--card); border:1px solid var(--line); border-left:4px solid var(--muted); border-radius:8px; padding:10px 14px; text-decoration:none; color:inherit; display:flex; flex-direction:column; }
.card:hover { border-color:var(--fg); }
.card-label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.5px; }
.card-count { font-size:26px; font-weight:600; font-variant-numeric:tabular-nums; }
${
  ["waiting", "queued", "running", "completed", "failed", "cancelled"].map((
    s,
  ) =>
    `.card.s-${s} { border-left-color:var(--${s}); } .badge.s-${s} { background:var(--${s}); }`
  ).join("\n")
}
.badge { display:inline-block; padding:1px 8px; border-radius:10px; color:#fff; font-size:12px; background:var(--muted); font-weight:500; vertical-align:middle; }
.badge.s-other, .badge.paused { background:#9a6700; }
table.grid { border-collapse:collapse; width:100%; }
.grid th, .grid td { padding:6px 8px; border-bottom:1px solid var(--line); text-align:left; white-space:nowrap; }
.grid th { font-weight:600; color:var(--muted); font-size:12px; }
.grid tbody tr:hover { background:#f6f8fa; }
.num { text-align:right !important; font-variant-numeric:tabular-nums; }
a { color:#0969da; }
a.zero { color:#afb8c1; }
.changed { animation: flash 1s ease-out; }
@keyframes flash { from { background:#fff8c5; } to { background:transparent; } }
.row { display:flex; gap:12px; align-items:center; flex-wrap:wrap; }
.filters { margin-bottom:12px; }
input, select { font:inherit; padding:5px 8px; border:1px solid var(--line); border-radius:6px; background:#fff; }
input.short { width:80px; }
.btn { font:inherit; padding:5px 12px; border:1px solid var(--line); border-radius:6px; background:#f6f8fa; cursor:pointer; color:var(--fg); text-decoration:none; display:inline-block; }
.btn:hover { background:#eaeef2; }
.btn.danger { color:var(--failed); }
.btn.link { background:none; border:none; color:#d0d7de; }
form.inline { display:inline; margin:0; }
.actions { display:flex; gap:8px; margin-bottom:14px; }
.paging { margin-top:12px; }
.notice { background:#dafbe1; border:1px solid #4ac26b; padding:8px 12px; border-radius:6px; }
.empty, .hint { color:var(--muted); }
pre { background:#f6f8fa; border:1px solid var(--line); border-radius:6px; padding:10px; margin:0; overflow:auto; max-height:420px; white-space:pre-wrap; word-break:break-word; font:12px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace; }
pre:empty::before { content:"none"; color:var(--muted); }
.facts { display:grid; grid-template-columns:max-content 1fr; gap:4px 16px; margin:0; }
.facts dt { color:var(--muted); }
.facts dd { margin:0; }
.columns { display:grid; grid-template-columns:1fr 1fr; gap:16px; }
.error .message { color:var(--failed); }
.stack { margin-top:6px; }
.timeline { list-style:none; margin:0; padding:0 0 0 16px; border-left:2px solid var(--line); }
.timeline li { position:relative; padding:4px 0 10px 10px; }
.timeline li::before { content:""; position:absolute; left:-23px; top:9px; width:10px; height:10px; border-radius:50%; background:var(--muted); border:2px solid #fff; }
.timeline li.o-completed::before { background:var(--completed); }
.timeline li.o-failed::before, .timeline li.o-timed_out::before, .timeline li.o-lost::before { background:var(--failed); }
.timeline li.o-running::before { background:var(--running); }
.timeline li.o-created::before { background:var(--queued); }
.timeline .when { color:var(--muted); font-size:12px; }
.chart { min-height:240px; }
body.plain main { max-width:420px; margin-top:80px; }
.login { background:#fff; border:1px solid var(--line); border-radius:8px; padding:20px; display:flex; flex-direction:column; gap:12px; }
@media (max-width: 800px) { .cards { grid-template-columns:repeat(3,1fr); } .columns { grid-template-columns:1fr; } }
`;
