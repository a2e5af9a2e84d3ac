// SIGTERM to `runnerd up` while LXD never answers a collect's file read or a spawn's create: the
// process exits within shutdown_timeout (the default, 20 s; the unit allows 60), leaving the
// runners alone. No real LXD is needed: the daemon talks to a fake on a unix socket.
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scopeKey } from "../../src/config/index.js";
import { startHungLxd, type HungLxd } from "../../src/daemon/test-support.js";
import { openStore } from "../../src/store/index.js";
import { ensureBuilt, repoRoot, runnerdBin, waitFor } from "../support/lxd-harness.js";

describe("runnerd up stops within shutdown_timeout with LXD calls hanging", () => {
  let lxd: HungLxd;
  beforeAll(async () => {
    await ensureBuilt();
    lxd = await startHungLxd();
    const store = openStore(lxd.stateDir);
    store.setToken(scopeKey({ type: "repo", repo: "owner/name" }), "AAAA", new Date(Date.now() + 3_600_000), "test");
    store.close();
  });
  afterAll(async () => {
    await lxd.close();
  });

  it("exits 0 well within the default bound", async () => {
    const logFile = join(lxd.stateDir, "daemon.log");
    const fd = openSync(logFile, "a");
    const child = spawn(process.execPath, [runnerdBin, "--config", lxd.configPath, "up"], { cwd: repoRoot, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    const killer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    try {
      await waitFor("a hung create and a hung file read", () => lxd.hung.some((h) => h.startsWith("POST /1.0/instances")) && lxd.hung.some((h) => h.includes("rd-web-stopped/files")), 30_000);
      const sent = performance.now();
      child.kill("SIGTERM");
      const { code, signal } = await exited;
      const ms = Math.round(performance.now() - sent);
      const log = readFileSync(logFile, "utf8");
      console.log(`SIGTERM to exit with a hung create and a hung file read: ${ms} ms (shutdown_timeout 20 s)`);
      expect({ code, signal }, log).toEqual({ code: 0, signal: null });
      expect(ms).toBeLessThan(20_000);
      expect(log).toContain("aborting the LXD calls in flight");
    } finally {
      clearTimeout(killer);
      child.kill("SIGKILL");
    }
  });
});
