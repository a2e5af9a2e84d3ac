// The status page document: markup, inline CSS and the inline script, with a Content-Security-Policy
// that allows exactly those two inline blocks (by hash) and requests to this server only, so the
// page loads nothing from elsewhere and injected markup could not run.
import { createHash } from "node:crypto";
import { pageScript } from "./status-page-script.js";

const pageStyle = `
:root { color-scheme: light dark; --fg: #1f2328; --muted: #656d76; --bg: #fff; --line: #d0d7de; --head: #f6f8fa;
  --ok: #1a7f37; --warn: #9a6700; --error: #cf222e; --busy: #0969da; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #8d96a0; --bg: #0d1117; --line: #30363d; --head: #161b22;
    --ok: #3fb950; --warn: #d29922; --error: #f85149; --busy: #58a6ff; }
}
* { box-sizing: border-box; }
body { margin: 0; padding: 1rem 1.5rem 2rem; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .4rem 1rem; border-bottom: 1px solid var(--line); padding-bottom: .6rem; }
h1 { font-size: 1.3rem; margin: 0; }
h2 { font-size: 1rem; margin: 1.4rem 0 .4rem; }
.meta { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--head); font-weight: 600; white-space: nowrap; }
td { overflow-wrap: anywhere; }
td.empty { color: var(--muted); font-style: italic; }
.detail { color: var(--error); font-size: .9em; margin-top: .2rem; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 1rem; border: 1px solid currentColor; font-size: .85em; white-space: nowrap; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .error { color: var(--error); }
.busy, .phase-busy { color: var(--busy); } .muted, .phase-stopped, .phase-deleting { color: var(--muted); }
.phase-idle { color: var(--ok); } .phase-starting, .phase-creating, .phase-finishing { color: var(--warn); }
.bar { height: .8rem; max-width: 32rem; border: 1px solid var(--line); border-radius: .4rem; overflow: hidden; }
.bar .fill { height: 100%; width: 0; background: currentColor; }
`;

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>runnerd status</title>
<link rel="icon" href="data:,">
<style>${pageStyle}</style>
</head>
<body>
<header data-testid="header">
  <h1>runnerd</h1>
  <span class="meta" data-testid="daemon">connecting…</span>
  <span class="meta" data-testid="updated"></span>
  <span data-testid="connection"></span>
</header>
<main>
<section data-testid="pools">
  <h2>Pools</h2>
  <table><thead><tr><th>Pool</th><th>Scope</th><th>Floor</th><th>Ceiling</th><th>Idle</th><th>Busy</th><th>Starting</th><th>Finishing</th><th>Queued</th><th>State</th></tr></thead><tbody></tbody></table>
</section>
<section data-testid="runners">
  <h2>Runners</h2>
  <table><thead><tr><th>Runner</th><th>Pool</th><th>State</th><th>Age</th><th>Job</th></tr></thead><tbody></tbody></table>
</section>
<section data-testid="members" hidden>
  <h2>Cluster members</h2>
  <table><thead><tr><th>Member</th><th>State</th><th>Runners</th><th>Idle</th><th>Busy</th><th>Lost</th></tr></thead><tbody></tbody></table>
</section>
<section data-testid="jobs">
  <h2>Recent jobs</h2>
  <table><thead><tr><th>Repository</th><th>Workflow / job</th><th>Pool</th><th>Runner</th><th>Result</th><th>Wait</th><th>Duration</th></tr></thead><tbody></tbody></table>
</section>
<section data-testid="credentials">
  <h2>Credentials</h2>
  <table><thead><tr><th>Scope</th><th>Mode</th><th>Health</th><th>Detail</th></tr></thead><tbody></tbody></table>
</section>
<section data-testid="storage">
  <h2>Storage</h2>
  <div class="bar"><div class="fill" data-testid="storage-fill"></div></div>
  <p class="meta" data-testid="storage-text"></p>
</section>
</main>
<script>${pageScript}</script>
</body>
</html>
`;

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

export const statusPage = {
  html,
  contentSecurityPolicy: [
    "default-src 'none'",
    `script-src ${sha256(pageScript)}`,
    `style-src ${sha256(pageStyle)}`,
    "connect-src 'self'",
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
} as const;
