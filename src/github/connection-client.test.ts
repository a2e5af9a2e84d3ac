// The GitHub client in pat mode against the emulator, whose answers are validated against
// GitHub's OpenAPI description: JIT configs, runner groups, deletion, listing, errors, counting.
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGitHubEmulator, type GitHubEmulator } from "../emulator/index.js";
import { ConnectionClient } from "./connection-client.js";
import { GitHubError } from "./errors.js";
import { routeOf } from "./octokit.js";

let emu: GitHubEmulator;
let client: ConnectionClient;
const logger = pino({ level: "silent" });

beforeAll(async () => {
  emu = await startGitHubEmulator();
  client = new ConnectionClient({ type: "pat", token: emu.pat }, { apiUrl: emu.apiUrl, logger });
});
afterAll(async () => {
  expect(emu.violations).toEqual([]);
  await emu.close();
});

// Octokit's throttling plugin spaces writes (POST, DELETE) a second apart, as GitHub asks.
describe("ConnectionClient (pat)", { timeout: 15_000 }, () => {
  it("mints a JIT config for a repository, lists and deletes the registration", async () => {
    const jit = await client.generateJitConfig({ type: "repo", repo: "acme/web" }, { name: "rd-web-aaaa1111", labels: ["self-hosted", "Linux", "X64", "gpu"], runnerGroupId: 1 });
    expect(jit.runnerId).toBeGreaterThan(0);
    expect(JSON.parse(Buffer.from(jit.encodedJitConfig, "base64").toString())).toHaveProperty([".runner"]);
    const listed = await client.listRunners({ type: "repo", repo: "acme/web" });
    expect(listed).toEqual([expect.objectContaining({ id: jit.runnerId, name: "rd-web-aaaa1111", status: "offline", busy: false })]);
    expect(listed[0]?.labels).toContain("gpu");
    expect(await client.deleteRegistration({ type: "repo", repo: "acme/web" }, jit.runnerId)).toBe("deleted");
    expect(await client.deleteRegistration({ type: "repo", repo: "acme/web" }, jit.runnerId)).toBe("gone");
  });

  it("reports a registration GitHub refuses to delete because its runner has a job (422) as busy, and keeps it", async () => {
    const scope = { type: "repo" as const, repo: "acme/busy" };
    emu.enqueueJob({ scope: { repo: "acme/busy" }, labels: ["self-hosted", "busy"], script: "true", name: "held" });
    const jit = await client.generateJitConfig(scope, { name: "rd-busy-eeee5555", labels: ["self-hosted", "busy"], runnerGroupId: 1 });
    const runner = emu.runners().find((r) => r.id === jit.runnerId);
    const headers = { authorization: `Bearer ${runner?.credential ?? ""}` };
    // The runner's side, as the fake runner does it: a session, then a poll that gets the job.
    expect((await fetch(`${emu.url}/_runner/sessions`, { method: "POST", headers })).status).toBe(200);
    expect((await fetch(`${emu.url}/_runner/message`, { method: "POST", headers })).status).toBe(200);
    expect(await client.deleteRegistration(scope, jit.runnerId)).toBe("busy");
    expect(emu.runners().some((r) => r.id === jit.runnerId)).toBe(true);
  });

  it("lists the queued jobs of queued runs and of runs in progress, within bounds, each call counted", async () => {
    const repo = { repo: "acme/recover" };
    const queued = emu.enqueueJob({ scope: repo, labels: ["self-hosted", "nowhere"], script: "true", name: "alone" });
    // A run in progress: one job done (cancelled), one still queued (it waited on `needs:`).
    const first = emu.enqueueJob({ scope: repo, labels: ["self-hosted", "nowhere"], script: "true", name: "build", runId: 9001 });
    const later = emu.enqueueJob({ scope: repo, labels: ["self-hosted", "nowhere"], script: "true", name: "deploy", runId: 9001 });
    emu.cancelJob(first.id);
    const before = client.tracker.total();
    const all = await client.listQueuedJobs("acme/recover");
    expect(all.jobs.map((j) => j.id).sort()).toEqual([queued.id, later.id].sort());
    expect(all).toMatchObject({ runs: 2, truncated: false });
    // two listings of runs (queued, in_progress), then one listing of jobs per run
    expect(client.tracker.total() - before).toBe(4);
    const bounded = await client.listQueuedJobs("acme/recover", { runPages: 1, maxRuns: 1, jobPages: 1 });
    expect(bounded).toMatchObject({ runs: 1, truncated: true });
    expect(bounded.jobs.map((j) => j.id)).toEqual([queued.id]);
  });

  it("resolves an org's runner group by name, case-insensitively, and caches it", async () => {
    const group = emu.addRunnerGroup("acme", "Builders");
    const before = client.tracker.total();
    expect(await client.runnerGroupId("acme", "builders")).toBe(group.id);
    expect(await client.runnerGroupId("acme", "Builders")).toBe(group.id);
    expect(client.tracker.total() - before).toBe(1);
    const jit = await client.generateJitConfig({ type: "org", org: "acme" }, { name: "rd-org-bbbb2222", labels: ["self-hosted"], runnerGroupId: group.id });
    expect(emu.runners().find((r) => r.id === jit.runnerId)?.groupId).toBe(group.id);
    await expect(client.runnerGroupId("acme", "nope")).rejects.toThrow(/no runner group named "nope" \(groups: Default, Builders\)/);
  });

  it("explains a refused credential and names what it tried", async () => {
    const bad = new ConnectionClient({ type: "pat", token: "ghp_notavalidtokenatall000000" }, { apiUrl: emu.apiUrl, logger });
    const err = await bad.generateJitConfig({ type: "repo", repo: "acme/web" }, { name: "rd-web-cccc3333", labels: ["self-hosted"], runnerGroupId: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubError);
    expect((err as GitHubError).status).toBe(401);
    expect((err as Error).message).toMatch(/GitHub refused to create a JIT runner config for repo:acme\/web: 401 Bad credentials \(the credential is invalid, revoked or expired\)/);
  });

  it("retries a GitHub server error and counts every exchange", async () => {
    emu.failNext({ path: "generate-jitconfig", status: 502, times: 1 });
    const before = client.tracker.requests().find((r) => r.route === "POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig" && r.status === 502)?.count ?? 0;
    const jit = await client.generateJitConfig({ type: "repo", repo: "acme/web" }, { name: "rd-web-dddd4444", labels: ["self-hosted"], runnerGroupId: 1 });
    expect(jit.runnerId).toBeGreaterThan(0);
    const after = client.tracker.requests().find((r) => r.route === "POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig" && r.status === 502)?.count ?? 0;
    expect(after - before).toBe(1);
  }, 15_000); // plugin-retry waits a second before retrying, and writes are spaced a second apart
});

describe("routeOf", () => {
  it("templates names and ids away, under a GHES API prefix too", () => {
    expect(routeOf("post", "http://h/api/v3/repos/acme/web/actions/runners/generate-jitconfig", "http://h/api/v3")).toBe("POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig");
    expect(routeOf("DELETE", "https://api.github.com/orgs/acme/actions/runners/42", "https://api.github.com")).toBe("DELETE /orgs/{org}/actions/runners/{id}");
    expect(routeOf("POST", "https://api.github.com/app/installations/7/access_tokens", "https://api.github.com")).toBe("POST /app/installations/{id}/access_tokens");
  });
});
