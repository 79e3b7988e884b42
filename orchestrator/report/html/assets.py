"""What the HTML report's page carries besides its content: the Content-Security-Policy, the one
small script and the style sheet, all inline so that nothing is fetched when the page is viewed."""

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)
"""Nothing but what is in the page: a report viewed offline looks the same as online."""

SCRIPT = (
    "(function(){var d=document.documentElement;"
    'window.addEventListener("error",function(e){d.setAttribute("data-js-error",String(e.message||e));});'
    "function openLog(){var t=location.hash&&document.getElementById(location.hash.slice(1));"
    'var l=t&&t.querySelector("details.log");if(l){l.open=true;}}'
    'window.addEventListener("hashchange",openLog);'
    'document.addEventListener("DOMContentLoaded",function(){openLog();d.setAttribute("data-ready","1");});'
    "})();"
)
"""Records a script error on the page (``data-js-error``) for checks, marks the page ready, and
opens the log of a step reached from the DAG."""

CSS = """
:root{color-scheme:light;--ok:#15803d;--ok-bg:#dcfce7;--bad:#b91c1c;--bad-bg:#fee2e2;
--skip:#4b5563;--skip-bg:#e5e7eb;--warn:#c2410c;--warn-bg:#ffedd5;--pend:#64748b;--pend-bg:#f8fafc;
--line:#d1d5db;--muted:#6b7280;--ink:#111827}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:16px 20px;font:14px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,"Liberation Sans",sans-serif;color:var(--ink);background:#fff}
h1{font-size:1.6rem;margin:.2em 0 .4em}h2{font-size:1.3rem;margin:1.2em 0 .4em}
h3{font-size:1.1rem;margin:1.2em 0 .4em;border-bottom:1px solid var(--line)}
h4{font-size:1.05rem;margin:0 0 .4em}h5{font-size:.95rem;margin:.8em 0 .3em}
h6{font-size:.85rem;margin:.8em 0 .3em;color:#374151}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
.report-head{border-left:6px solid var(--line);padding:4px 14px;background:#f9fafb}
.report-head.tone-ok{border-color:var(--ok)}.report-head.tone-bad{border-color:var(--bad)}
.report-head.tone-warn{border-color:var(--warn)}.report-head.tone-skip{border-color:var(--skip)}
.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 14px;margin:.4em 0}
.facts dt{color:var(--muted)}.facts dd{margin:0;overflow-wrap:anywhere}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:.78em;
font-weight:600;vertical-align:middle;background:var(--skip)}
.badge.tone-ok{background:var(--ok)}.badge.tone-bad{background:var(--bad)}
.badge.tone-warn{background:var(--warn)}.badge.tone-skip{background:var(--skip)}
.badge.tone-pend{background:var(--pend)}
.tone-text-ok{color:var(--ok);font-weight:600}.tone-text-bad{color:var(--bad);font-weight:600}
.tone-text-warn{color:var(--warn);font-weight:600}.tone-text-skip{color:var(--skip)}
.tone-text-pend{color:var(--pend)}
.scroll{overflow-x:auto;max-width:100%;margin:.3em 0 .6em}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600}td{overflow-wrap:break-word}
.badge,[class*=tone-text-],table.tests td:nth-child(n+2):nth-child(-n+4){white-space:nowrap}
.null,.none{color:var(--muted);font-style:italic}
.issues{margin:0;padding-left:1.1em}.sev-error{color:var(--bad)}.sev-warning{color:#a16207}
.fix{color:#374151}
.step,.case{border:1px solid var(--line);border-left:6px solid var(--line);border-radius:6px;
padding:8px 12px;margin:10px 0}
.step.tone-ok,.case.tone-ok{border-left-color:var(--ok)}
.step.tone-bad,.case.tone-bad{border-left-color:var(--bad);background:#fffafa}
.step.tone-skip,.case.tone-skip{border-left-color:var(--skip)}
.step.tone-warn,.case.tone-warn{border-left-color:var(--warn)}
.step.tone-pend{border-left-color:var(--pend);border-left-style:dashed}
details{margin:.4em 0}summary{cursor:pointer;overflow-wrap:anywhere}
details.output{border:1px solid #e5e7eb;border-radius:4px;padding:4px 8px}
pre.log-tail{background:#0f172a;color:#e2e8f0;padding:8px 10px;border-radius:4px;margin:.3em 0;
max-height:28em;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere}
figure{margin:.4em 0}figcaption{color:var(--muted);font-size:12px}
svg{max-width:100%;height:auto}
.dag{overflow-x:auto}
.dag-node rect{fill:var(--pend-bg);stroke:var(--pend);stroke-width:1.5}
.dag-node text{font-size:13px;fill:var(--ink)}.dag-node .name{font-weight:600}
.dag-node .sub{font-size:11px;fill:#374151}
.dag-node.tone-ok rect{fill:var(--ok-bg);stroke:var(--ok)}
.dag-node.tone-bad rect{fill:var(--bad-bg);stroke:var(--bad);stroke-width:2.5}
.dag-node.tone-skip rect{fill:var(--skip-bg);stroke:var(--skip)}
.dag-node.tone-warn rect{fill:var(--warn-bg);stroke:var(--warn)}
.dag-node.tone-pend rect{stroke-dasharray:4 3}
a:hover .dag-node rect{stroke-width:3}
.dag-edge{fill:none;stroke:#6b7280;stroke-width:1.6}.dag-edge.broken{stroke:var(--bad);stroke-width:2.2}
.arrow-head{fill:#6b7280}
.key{display:inline-block;padding:0 6px;margin-right:4px;border:1px solid;border-radius:3px}
.key.tone-ok{background:var(--ok-bg);border-color:var(--ok)}
.key.tone-bad{background:var(--bad-bg);border-color:var(--bad)}
.key.tone-skip{background:var(--skip-bg);border-color:var(--skip)}
.key.tone-warn{background:var(--warn-bg);border-color:var(--warn)}
.key.tone-pend{background:var(--pend-bg);border-color:var(--pend);border-style:dashed}
.metrics-block{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:flex-start}
.bars text{font-size:12px;fill:var(--ink)}.bars .tick{fill:var(--muted);font-size:11px}
.bars .track{fill:#f3f4f6}.bars .bar{fill:#2563eb}.bars .bar.neg{fill:#7c3aed}
.bars .bar.miss{fill:var(--bad)}.bars .threshold{stroke:#111827;stroke-width:2}
.bars .band{fill:#15803d;fill-opacity:.18}
.distribution .dist-actual{fill:#2563eb}.distribution .dist-reference{fill:#9ca3af}
.distribution .tick{fill:var(--muted);font-size:10px}
.dist-actual-key{color:#2563eb}.dist-reference-key{color:#9ca3af}
.quality{border-left:4px solid var(--line);padding:2px 10px;margin:.5em 0}
.quality.tone-ok{border-color:var(--ok)}.quality.tone-bad{border-color:var(--bad)}
.quality ul{margin:.2em 0;padding-left:1.2em}
.contents ul{padding-left:1.2em}
@media (max-width:640px){body{padding:8px}h1{font-size:1.3rem}
.facts{grid-template-columns:minmax(0,1fr)}.facts dt{font-weight:600;margin-top:4px}
.step,.case{padding:6px 8px}}
"""
"""The page's look: status colours (``tone-*``), tables, the DAG, the charts, a narrow window."""
