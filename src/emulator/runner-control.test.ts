// The emulator's listener steering over the wire: sessions, self-update offers, the minimum version,
// runner faults, and their admin API.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startGitHubEmulator } from "./index.js";
import type { GitHubEmulator } from "./index.js";
import { compareVersions } from "./runner-control.js";

let emu: GitHubEmulator;

beforeEach(async () => {
  emu = await startGitHubEmulator({ longPollMs: 1000 });
});
afterEach(async () => {
  await emu.close();
});

function listener(name: string): { credential: string; id: number } {
  const { runner } = emu.mintJitConfig({ repo: "octo/app" }, { name, labels: ["self-hosted"] });
  return { credential: runner.credential, id: runner.id };
}

async function openSession(credential: string, version = "2.330.0"): Promise<Response> {
  return fetch(`${emu.url}/_runner/sessions`, { method: "POST", headers: { authorization: `Bearer ${credential}` }, body: JSON.stringify({ version }) });
}

async function poll(credential: string, query = "runnerVersion=2.330.0&architecture=X64&disableUpdate=false"): Promise<{ status: number; reason: string; text: string }> {
  const res = await fetch(`${emu.url}/_runner/message?${query}`, { method: "POST", headers: { authorization: `Bearer ${credential}` } });
  return { status: res.status, reason: res.statusText, text: await res.text() };
}

function admin(path: string, body: unknown, method = "POST"): Promise<Response> {
  return fetch(`${emu.url}/_admin${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
}

describe("sessions", () => {
  it("one listener per registration: a second session conflicts until the first is deleted", async () => {
    const { credential, id } = listener("one");
    expect((await openSession(credential)).status).toBe(200);
    const second = await openSession(credential);
    expect(second.status).toBe(409);
    expect(second.statusText).toBe("A session for this runner already exists. Retry every 30 s for 240 s.");
    expect(await second.json()).toMatchObject({ errorKind: "SessionConflict" });
    expect((await fetch(`${emu.url}/_runner/sessions/delete`, { method: "POST", headers: { authorization: `Bearer ${credential}` } })).status).toBe(204);
    expect((await openSession(credential)).status).toBe(200);
    expect(emu.runners().find((r) => r.id === id)).toMatchObject({ sessions: 2, session: `session-${id}-2` });
  });

  it("an armed conflict hits the next matching runner on every try, with its retry timing", async () => {
    emu.armRunnerFault({ kind: "session-conflict", namePrefix: "b-", retryIntervalSeconds: 1, retryLimitSeconds: 3 });
    const a = listener("a-1");
    const b = listener("b-1");
    expect((await openSession(a.credential)).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const res = await openSession(b.credential);
      expect(res.status).toBe(409);
      expect(res.statusText).toBe("A session for this runner already exists. Retry every 1 s for 3 s.");
    }
    emu.clearRunnerFaults();
    expect((await openSession(b.credential)).status).toBe(200);
  });
});

describe("self-update offers", () => {
  it("offers a published release to older listeners that take updates, with the download for their architecture", async () => {
    const release = await emu.publishRunnerRelease("2.331.0");
    expect(() => emu.offerRunnerUpdate("2.399.0")).toThrow(/not published/);
    emu.offerRunnerUpdate("2.331.0");
    const { credential } = listener("old");
    await openSession(credential);
    const answer = await poll(credential, "runnerVersion=2.330.0&architecture=ARM64&disableUpdate=false");
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({
      messageType: "RunnerRefresh", runnerId: expect.any(Number) as number, target_version: "2.331.0", os: "linux",
      download_url: `${emu.url}/_downloads/actions-runner-linux-arm64-2.331.0.tar.gz`, sha256_checksum: release.sha256,
    });
    // Not to a listener with updates disabled, nor to one as new as the offer.
    expect((await poll(credential, "runnerVersion=2.330.0&architecture=X64&disableUpdate=true")).status).toBe(204);
    expect((await poll(credential, "runnerVersion=2.331.0&architecture=X64&disableUpdate=false")).status).toBe(204);
  });

  it("answers a waiting poll at once when the offer comes, and no more after it is withdrawn", async () => {
    await emu.publishRunnerRelease("2.331.0");
    const { credential } = listener("waiting");
    await openSession(credential);
    const pending = poll(credential);
    // Long polls last 1 s here: a poll still waiting when the offer came would time out empty.
    await new Promise((r) => setTimeout(r, 100));
    emu.offerRunnerUpdate("2.331.0");
    expect(JSON.parse((await pending).text)).toMatchObject({ messageType: "RunnerRefresh", target_version: "2.331.0" });
    emu.offerRunnerUpdate(null);
    expect((await poll(credential)).status).toBe(204);
  });
});

describe("deprecated versions", () => {
  it("refuses polls of older listeners with RunnerVersionTooOld, after their session opened", async () => {
    emu.setMinimumRunnerVersion("2.331.0");
    expect(() => emu.setMinimumRunnerVersion("latest")).toThrow(/2\.330\.0/);
    const { credential } = listener("refused");
    expect((await openSession(credential)).status).toBe(200);
    const refused = await poll(credential);
    expect(refused.status).toBe(403);
    expect(refused.reason).toBe("RunnerVersionTooOld: Runner version v2.330.0 is deprecated and cannot receive messages.");
    expect(JSON.parse(refused.text)).toMatchObject({ errorKind: "RunnerVersionTooOld", errorMessage: "Runner version v2.330.0 is deprecated and cannot receive messages." });
    expect((await poll(credential, "runnerVersion=2.331.0")).status).toBe(204);
  });
});

describe("runner faults", () => {
  it("hands the next poll an unreadable job request, or a configuration refresh, once each", async () => {
    const { credential } = listener("faulty");
    await openSession(credential);
    emu.armRunnerFault({ kind: "retryable-error" });
    emu.armRunnerFault({ kind: "config-refresh" });
    expect(JSON.parse((await poll(credential)).text)).toEqual({ messageType: "RunnerJobRequest", body: "not a job request" });
    expect(JSON.parse((await poll(credential)).text)).toMatchObject({ messageType: "RunnerRefreshConfig", configType: "runner" });
    expect((await poll(credential)).status).toBe(204);
    expect(() => emu.armRunnerFault({ kind: "nope" as "config-refresh" })).toThrow(/unknown runner fault kind/);
    expect(() => emu.armRunnerFault({ kind: "config-refresh", times: 0 })).toThrow(/times must be a whole number from 1/);
  });
});

describe("admin API", () => {
  it("offers updates, sets the minimum version, arms and clears faults, deletes registrations", async () => {
    expect((await admin("/runner-update", { version: "2.399.0" })).status).toBe(422);
    await emu.publishRunnerRelease("2.331.0");
    expect((await admin("/runner-update", { version: "2.331.0" })).status).toBe(204);
    expect((await admin("/runner-update", { version: 5 })).status).toBe(422);
    expect((await admin("/runner-minimum-version", { version: "2.320.0" })).status).toBe(204);
    expect((await admin("/runner-minimum-version", { version: null })).status).toBe(204);
    expect((await admin("/runner-faults", { kind: "session-conflict", retryLimitSeconds: -1 })).status).toBe(422);
    expect((await admin("/runner-faults", { kind: "retryable-error", namePrefix: "x" })).status).toBe(204);
    expect((await admin("/runner-faults", undefined, "DELETE")).status).toBe(204);
    const { id, credential } = listener("doomed");
    expect((await admin(`/runners/${id}`, undefined, "DELETE")).status).toBe(204);
    expect((await openSession(credential)).status).toBe(404);
  });

  it("orders versions numerically", () => {
    expect(compareVersions("2.330.0", "2.331.0")).toBeLessThan(0);
    expect(compareVersions("2.1000.0", "2.999.9")).toBeGreaterThan(0);
    expect(compareVersions("2.330.0", "2.330.0")).toBe(0);
  });
});
