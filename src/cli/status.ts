// `runnerd status` and `runnerd runners list|delete`: pools and runners, as a table or JSON.
// `status --watch` redraws the same view (status-watch.ts).
import type { Command } from "commander";
import type { Config } from "../config/index.js";
import { connectLxd } from "../lxd/connect.js";
import { liveStatus, type LiveStatus } from "../daemon/live-status.js";
import { nudgeDaemon } from "../daemon/state-files.js";
import { UsageError } from "../errors.js";
import { deleteInstance } from "../pools/collect.js";
import { keys } from "../pools/ownership.js";
import type { PoolReport } from "../pools/reconciler.js";
import { openStore } from "../store/index.js";
import { loadCliConfig, type GlobalOptions } from "./context.js";
import { humanDuration, printJson, table } from "./output.js";
import { parseWatchInterval, watchStatus } from "./status-watch.js";

export function registerStatusCommands(program: Command): void {
  program
    .command("status")
    .option("--json", "machine-readable output")
    .option("--watch", "redraw every --interval until Ctrl-C, with the most recent jobs")
    .option("--interval <duration>", "time between redraws with --watch", "2s")
    .description("pools (idle, busy, starting, finishing, token expiry) and runners (state, age)")
    .action(async (opts: { json?: boolean; watch?: boolean; interval: string }) => {
      if (opts.watch && opts.json) throw new UsageError("status: --watch redraws a terminal view; it does not go with --json");
      const intervalMs = parseWatchInterval(opts.interval);
      const { config } = loadCliConfig(program.opts<GlobalOptions>());
      if (opts.watch) {
        const stop = new AbortController();
        process.once("SIGINT", () => stop.abort());
        await watchStatus({ config, intervalMs, signal: stop.signal, render: renderStatus });
        return;
      }
      const status = await withStatus(config);
      if (opts.json) printJson(status);
      else console.log(renderStatus(status));
    });

  const runners = program.command("runners").description("list or delete runners");
  runners
    .command("list")
    .option("--json", "machine-readable output")
    .description("runner instances with their pool, state and age")
    .action(async (opts: { json?: boolean }) => {
      const { config } = loadCliConfig(program.opts<GlobalOptions>());
      const status = await withStatus(config);
      if (opts.json) printJson(status.runners);
      else console.log(renderRunners(status));
    });
  runners
    .command("delete")
    .argument("<name>", "runner (instance) name")
    .description("stop and delete one runner now; the daemon replaces it")
    .action(async (name: string) => {
      const { config } = loadCliConfig(program.opts<GlobalOptions>());
      const lxd = await connectLxd(config.lxd);
      try {
        const instance = await lxd.client.getInstance(name);
        if (!instance) throw new UsageError(`runners delete: no instance named ${name}`);
        if (instance.config[keys.controller] !== config.controller_id) {
          throw new UsageError(`runners delete: ${name} is not a runner of this runnerd (controller ${config.controller_id}); not touching it`);
        }
        await deleteInstance(lxd.port, name);
        const store = openStore(config.state_dir);
        store.recordRunnerResult(name, { exitCode: null, jobSeen: false, outcome: "deleted", detail: "deleted by runnerd runners delete", finishedAt: new Date() });
        store.markRunnerDeleted(name, new Date());
        store.close();
      } finally {
        await lxd.client.close();
      }
      nudgeDaemon(config.state_dir);
      console.log(`deleted ${name}`);
    });
}

async function withStatus(config: Config): Promise<LiveStatus> {
  const lxd = await connectLxd(config.lxd);
  const store = openStore(config.state_dir);
  try {
    return await liveStatus(config, lxd, store);
  } finally {
    store.close();
    await lxd.client.close();
  }
}

const blockerText: Record<string, string> = {
  "token-missing": "waiting for token (none pushed)",
  "token-expiring": "waiting for token (expires too soon)",
  "runner-deprecated": "runner version refused by GitHub; image needs a rebuild",
  backoff: "spawn failing; retrying",
  "host-cap": "held back by max_runners",
  "member-cap": "every eligible cluster member is at max_runners_per_member",
  "no-member": "no online cluster member in the pool's placement target",
  "shutting-down": "shutting down",
};

/** A failing pool: how often, the last reason, and when the next attempt comes. */
function failureText(p: LiveStatus["pools"][number], now: number): string {
  const count = p.failures !== undefined && p.failures > 1 ? `${p.failures} failures, ` : "";
  const retry = p.retryAt !== undefined && p.retryAt > now ? `; next try in ${humanDuration(p.retryAt - now)}` : "";
  return `${count}last failure ${humanDuration(now - (p.lastError?.at ?? now))} ago: ${p.lastError?.message ?? ""}${retry}`;
}

export function renderStatus(status: LiveStatus): string {
  const d = status.daemon;
  const daemonLine = d.running
    ? `daemon: running (pid ${d.pid}${d.startedAt ? `, up ${humanDuration(status.at - d.startedAt)}` : ""}${d.lastPassAt ? `, last pass ${humanDuration(status.at - d.lastPassAt)} ago` : ""})`
    : "daemon: not running";
  const poolRows = status.pools.map((p) => [p.name, p.scope, String(p.idle), String(p.busy), String(p.starting), String(p.finishing), String(p.queued ?? 0), `${p.floor}/${p.ceiling}`, tokenText(p, status.at), poolState(p)]);
  const parts = [daemonLine];
  if (status.backend) parts.push(`backend: ${status.backend}`);
  if (d.lastPassError) parts.push(`last pass failed: ${d.lastPassError}`);
  parts.push("", table(["POOL", "SCOPE", "IDLE", "BUSY", "STARTING", "FINISHING", "QUEUED", "FLOOR/CEILING", "TOKEN", "STATE"], poolRows));
  for (const p of status.pools) if (p.lastError) parts.push(`  ${p.name}: ${failureText(p, status.at)}`);
  for (const p of status.pools) if (p.deprecated) parts.push(`  ${p.name}: ${p.deprecated.message}`);
  if (status.credentials.length > 0) parts.push("", renderCredentials(status));
  if (status.members && status.members.length > 0) parts.push("", renderMembers(status.members));
  parts.push("", renderRunners(status));
  if (status.images.length > 0) parts.push("", renderImages(status));
  return parts.join("\n");
}

function renderCredentials(status: LiveStatus): string {
  const rows = status.credentials.map((c) => [c.scope, c.mode, c.level === "ok" ? "ok" : c.level === "warn" ? "WARNING" : "PROBLEM", c.message]);
  return table(["SCOPE", "CREDENTIAL", "STATE", "DETAIL"], rows);
}

function renderImages(status: LiveStatus): string {
  const rows = status.images.map((i) => [i.alias, i.fingerprint?.slice(0, 12) ?? "-", i.runnerVersion ?? "-", i.latest ?? "?", i.level]);
  const lines = [table(["IMAGE", "FINGERPRINT", "RUNNER", "LATEST", "RUNNER STATE"], rows)];
  for (const i of status.images) if (i.level !== "current") lines.push(`  ${i.level === "behind" || i.level === "unknown" ? "warning" : "ATTENTION"}: ${i.alias}: ${i.message}`);
  return lines.join("\n");
}

function renderMembers(members: NonNullable<LiveStatus["members"]>): string {
  const rows = members.map((m) => [m.name, m.state, String(m.runners), String(m.idle), String(m.busy), String(m.lost)]);
  return table(["MEMBER", "STATE", "RUNNERS", "IDLE", "BUSY", "LOST"], rows);
}

function renderRunners(status: LiveStatus): string {
  if (status.runners.length === 0) return "no runners";
  const clustered = status.runners.some((r) => r.member !== undefined);
  const rows = status.runners.map((r) => [r.name, r.pool, ...(clustered ? [r.member ?? "-"] : []), r.phase, humanDuration(status.at - r.createdAt), r.job ?? ""]);
  return table(["RUNNER", "POOL", ...(clustered ? ["MEMBER"] : []), "STATE", "AGE", "JOB"], rows);
}

function tokenText(pool: PoolReport, now: number): string {
  if (pool.credential === "jit") return "jit";
  if (pool.tokenExpiresAt === undefined) return "none";
  const left = pool.tokenExpiresAt - now;
  return left > 0 ? `expires in ${humanDuration(left)}` : `expired ${humanDuration(left)} ago`;
}

/** While a pool's backoff lasts, a retry under way (not blocked this moment) still says so. */
function poolState(pool: PoolReport): string {
  if (pool.blocked) return blockerText[pool.blocked] ?? pool.blocked;
  return pool.backoffReason ? `failing (${pool.failures ?? 1} in a row); retrying` : "ok";
}
