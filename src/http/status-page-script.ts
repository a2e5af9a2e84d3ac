// The status page's browser code, inlined into the page. It builds every cell with textContent
// (never innerHTML), so names from the config or from GitHub render as text, whatever they hold.
// Plain ES2020 in a string: no backticks, `${` or backslashes, so the text is served as written.
export const pageScript = `
"use strict";
(function () {
  var section = function (id) { return document.querySelector('[data-testid="' + id + '"]'); };
  var blockers = {
    "token-missing": "waiting for token (none pushed)",
    "token-expiring": "waiting for token (expires too soon)",
    "runner-deprecated": "runner version refused by GitHub; image needs a rebuild",
    backoff: "spawn failing; retrying",
    "host-cap": "held back by max_runners",
    "member-cap": "every eligible cluster member is at max_runners_per_member",
    "no-member": "no online cluster member in the pool's placement target",
    "shutting-down": "shutting down"
  };
  var levels = { ok: "ok", warn: "warning", error: "problem" };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function row(testid, cells) {
    var tr = el("tr");
    tr.dataset.testid = testid;
    cells.forEach(function (cell) {
      var td = el("td");
      if (cell instanceof Node) td.append(cell); else td.textContent = cell === undefined || cell === null ? "" : String(cell);
      tr.append(td);
    });
    return tr;
  }
  function fill(id, rows, emptyText) {
    var body = section(id).querySelector("tbody");
    if (rows.length === 0) {
      var td = el("td", "empty", emptyText);
      td.colSpan = section(id).querySelectorAll("th").length;
      var tr = el("tr");
      tr.append(td);
      rows = [tr];
    }
    body.replaceChildren.apply(body, rows);
  }
  function duration(ms) {
    var s = Math.round(Math.abs(ms) / 1000);
    if (s < 120) return s + "s";
    var m = Math.round(s / 60);
    if (m < 120) return m + "m";
    var h = Math.round(m / 60);
    return h < 48 ? h + "h" : Math.round(h / 24) + "d";
  }
  function bytes(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  }
  function badge(text, kind) { return el("span", "badge " + kind, text); }

  function renderHeader(d) {
    var parts = ["pid " + d.daemon.pid, "up " + duration(d.at - d.daemon.startedAt)];
    if (d.daemon.version) parts.push("v" + d.daemon.version);
    section("daemon").textContent = parts.join(" · ");
    section("updated").textContent = "updated " + new Date(d.at).toLocaleTimeString();
  }
  function renderPools(d) {
    fill("pools", d.pools.map(function (p) {
      var state = el("span");
      // While a backoff lasts the pool is failing, also while a retry is under way (not blocked then).
      state.append(p.blocked ? badge(blockers[p.blocked] || p.blocked, "warn") : p.backoffReason ? badge("failing (" + p.failures + " in a row); retrying", "warn") : badge("ok", "ok"));
      if (p.lastError) state.append(el("div", "detail", "last failure " + duration(d.at - p.lastError.at) + " ago: " + p.lastError.message));
      if (p.deprecated) state.append(el("div", "detail", p.deprecated.message));
      return row("pool-row", [p.name, p.scope, p.floor, p.ceiling, p.idle, p.busy, p.starting, p.finishing, p.queued, state]);
    }), "no pools configured");
  }
  function renderRunners(d) {
    fill("runners", d.runners.map(function (r) {
      return row("runner-row", [r.name, r.pool, badge(r.phase, "phase-" + r.phase), duration(d.at - r.createdAt), r.job || ""]);
    }), "no runners");
  }
  // Only on a cluster: a single server has no members to show.
  function renderMembers(d) {
    var members = d.members || [];
    section("members").hidden = members.length === 0;
    fill("members", members.map(function (m) {
      return row("member-row", [m.name, badge(m.state, m.state === "online" ? "ok" : m.state === "evacuated" ? "warn" : "error"), m.runners, m.idle, m.busy, m.lost]);
    }), "no members");
  }
  function conclusionKind(j) {
    if (j.status !== "completed") return "busy";
    if (j.conclusion === "success") return "ok";
    if (j.conclusion === "cancelled" || j.conclusion === "skipped") return "muted";
    return "error";
  }
  function renderJobs(d) {
    fill("jobs", d.jobs.map(function (j) {
      var wait = j.queuedAt === null ? "" : j.startedAt !== null ? duration(j.startedAt - j.queuedAt) : duration(d.at - j.queuedAt) + " so far";
      var took = j.startedAt === null ? "" : j.completedAt !== null ? duration(j.completedAt - j.startedAt) : duration(d.at - j.startedAt) + " so far";
      var result = j.status === "completed" ? j.conclusion || "completed" : j.status.replace("_", " ");
      return row("job-row", [j.repository, (j.workflowName || "?") + " / " + j.jobName, j.pool || "no pool", j.runnerName || "", badge(result, conclusionKind(j)), wait, took]);
    }), "no jobs yet");
  }
  function renderCredentials(d) {
    fill("credentials", d.credentials.map(function (c) {
      return row("credential-row", [c.scope, c.mode + " (" + c.connection + ")", badge(levels[c.level] || c.level, c.level), c.message]);
    }), "no scopes configured");
  }
  function renderStorage(d) {
    var text = section("storage-text");
    var fillBar = section("storage-fill");
    var s = d.storage;
    if (!s || !(s.totalBytes > 0)) {
      text.textContent = "storage usage unknown";
      fillBar.style.width = "0";
      return;
    }
    var share = Math.min(1, s.usedBytes / s.totalBytes);
    fillBar.style.width = (share * 100).toFixed(1) + "%";
    fillBar.className = "fill " + (share >= 0.95 ? "error" : share >= 0.8 ? "warn" : "ok");
    text.textContent = s.pool + ": " + bytes(s.usedBytes) + " of " + bytes(s.totalBytes) + " used (" + Math.round(share * 100) + "%)";
  }
  function render(d) {
    renderHeader(d);
    renderPools(d);
    renderRunners(d);
    renderMembers(d);
    renderJobs(d);
    renderCredentials(d);
    renderStorage(d);
  }
  function connection(text, kind) {
    var node = section("connection");
    node.textContent = text;
    node.className = "badge " + kind;
  }

  // Server-sent events when the browser has them; polling when it has not or the stream fails
  // before it delivered anything (a proxy in the way). A stream that was live and ended (runnerd
  // ends each after 10 minutes) is left to EventSource, which reconnects by itself.
  var polling = false;
  function poll() {
    fetch("api/v1/status", { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (d) { render(d); connection("polling", "ok"); }, function () { connection("disconnected; retrying", "error"); })
      .finally(function () { setTimeout(poll, 2000); });
  }
  function startPolling() {
    if (polling) return;
    polling = true;
    poll();
  }
  if (typeof EventSource === "function") {
    var events = new EventSource("api/v1/events");
    var live = false;
    events.onmessage = function (e) { live = true; render(JSON.parse(e.data)); connection("live", "ok"); };
    events.onerror = function () {
      if (live && events.readyState !== EventSource.CLOSED) { live = false; connection("reconnecting", "ok"); return; }
      events.close();
      startPolling();
    };
  } else {
    startPolling();
  }
})();
`;
