import { describe, expect, it } from "vitest";
import type { LiveStatus } from "../daemon/live-status.js";
import { renderStatus } from "./status.js";

const at = 1_800_000_000_000;
const status = (pool: Partial<LiveStatus["pools"][number]>): LiveStatus => ({
  at,
  daemon: { running: true, pid: 42 },
  pools: [{ name: "web", scope: "repo:acme/web", idle: 1, busy: 0, starting: 0, finishing: 0, floor: 2, ceiling: 3, tokenExpiresAt: at + 3_600_000, ...pool }],
  runners: [],
  images: [],
  credentials: [],
});

describe("runnerd status: a pool's backoff", () => {
  it("says why on every sample while it lasts: waiting, and while a retry is under way", () => {
    const failing = { failures: 5, backoffReason: "spawn-lxd", failingSince: at - 120_000, lastError: { message: "create instance rd-web-9: no space left on device", at: at - 10_000 } };
    const waiting = renderStatus(status({ ...failing, blocked: "backoff", retryAt: at + 20_000 }));
    expect(waiting).toContain("spawn failing; retrying");
    expect(waiting).toMatch(/web: 5 failures, last failure 10s ago: create instance rd-web-9: no space left on device; next try in 20s/);
    const retrying = renderStatus(status({ ...failing, starting: 1 }));
    expect(retrying).toContain("failing (5 in a row); retrying");
    expect(retrying).toContain("no space left on device");
    expect(renderStatus(status({}))).not.toMatch(/failing|failure/);
  });
});
