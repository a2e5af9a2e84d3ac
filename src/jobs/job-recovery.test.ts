// Job recovery against the emulator (whose answers are checked against GitHub's OpenAPI): queued
// jobs of queued runs and of runs already in progress, bounds, counted calls, and corrections.
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Config } from "../config/index.js";
import { startGitHubEmulator, type GitHubEmulator } from "../emulator/index.js";
import type { GitHubClients } from "../github/clients.js";
import { ConnectionClient } from "../github/connection-client.js";
import type { JobEvent } from "../store/job-types.js";
import { openStore, type Store } from "../store/open.js";
import { makeStateDir } from "../store/test-support.js";
import { JobRecovery } from "./job-recovery.js";

const logger = pino({ level: "silent" });
const repo = { repo: "acme/web" };
let emu: GitHubEmulator;
let store: Store;
let handled: JobEvent[];

beforeEach(async () => {
  emu = await startGitHubEmulator();
  store = openStore(makeStateDir());
  handled = [];
});
afterEach(async () => {
  store.close();
  expect(emu.violations).toEqual([]);
  await emu.close();
});

function recovery(bounds?: { runPages: number; maxRuns: number; jobPages: number }): JobRecovery {
  const client = new ConnectionClient({ type: "pat", token: emu.pat }, { apiUrl: emu.apiUrl, logger });
  const clients: GitHubClients = new Map([["main", { client, fingerprint: "x" }]]);
  const config = { pools: [{ name: "web", connection: "main", scope: { type: "repo", repo: "acme/web" } }], job_recovery_interval: 300_000 } as unknown as Config;
  return new JobRecovery({
    clients: () => clients,
    config: () => config,
    store,
    handle: (event) => {
      handled.push(event);
      store.recordJobEvent(event, "web");
    },
    logger,
    now: Date.now,
    ...(bounds ? { bounds } : {}),
  });
}

const job = (name: string, runId?: number) => emu.enqueueJob({ scope: repo, labels: ["self-hosted", "nowhere"], script: "true", name, ...(runId === undefined ? {} : { runId }) });

describe("JobRecovery", () => {
  it("recovers a job queued inside a run already in progress (needs:, a matrix wider than the runners)", async () => {
    const alone = job("alone");
    const build = job("build", 7001);
    const deploy = job("deploy", 7001);
    emu.cancelJob(build.id); // the run is now in progress: one job done, one queued
    const report = await recovery().recover();
    expect(handled.map((e) => [e.jobId, e.action]).sort()).toEqual([[alone.id, "queued"], [deploy.id, "queued"]].sort());
    expect(report).toMatchObject({ repositories: 1, recovered: 2, corrected: 0, runs: 2, truncated: false, errors: [] });
    // runs queued and in progress (2 calls), one jobs listing per run (2 calls)
    expect(report.apiCalls).toBe(4);
    expect(store.queuedDemand(Date.now(), 3_600_000)).toEqual(new Map([["web", 2]]));
  });

  it("stays within its bounds and says so", async () => {
    job("a");
    job("b");
    job("c");
    const report = await recovery({ runPages: 1, maxRuns: 2, jobPages: 1 }).recover();
    expect(report).toMatchObject({ recovered: 2, runs: 2, truncated: true });
    expect(report.apiCalls).toBe(4);
  });

  it("asks about jobs it believes queued that the listing no longer shows, and corrects them", async () => {
    const gone = job("gone");
    const r = recovery();
    await r.recover();
    emu.cancelJob(gone.id);
    const report = await r.recover({ staleAfterMs: 0 });
    expect(report).toMatchObject({ recovered: 0, corrected: 1 });
    expect(store.getJob(gone.id)).toMatchObject({ status: "completed", conclusion: "cancelled" });
    // two listings of runs (none queued now; the cancelled run is completed), one question
    expect(report.apiCalls).toBe(3);
  });
});
