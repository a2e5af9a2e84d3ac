import { describe, expect, it } from "vitest";
import { createMetricsRegistry } from "./metrics.js";
import type { PoolReport } from "../pools/report.js";
import type { PoolStatus } from "../pools/types.js";
import { RunnerMetrics } from "./runner-metrics.js";

const now = Date.parse("2026-11-28T12:00:00Z");

describe("metrics", () => {
  it("exposes credential expiry, push age, health and GitHub budgets as read at scrape time", async () => {
    let remaining = 4990;
    const registry = createMetricsRegistry({
      now: () => now,
      credentials: () => [
        { scope: "repo:acme/web", connection: "push", mode: "push", level: "warn", message: "late", expiresAt: now + 600_000, lastPushAt: now - 50 * 60_000 },
        { scope: "org:acme", connection: "pat", mode: "pat", level: "ok", message: "fine" },
      ],
      github: () => [
        {
          connection: "pat",
          kind: "pat",
          requests: 3,
          requestCounts: [{ route: "POST /orgs/{org}/actions/runners/generate-jitconfig", status: 201, count: 3 }],
          rateLimits: [{ credential: "pat", limit: 5000, remaining, used: 5000 - remaining, resetAt: now + 3_600_000, resource: "core", observedAt: now }],
        },
      ],
    });
    const text = await registry.metrics();
    expect(text).toContain('runnerd_credential_expiry_seconds{scope="repo:acme/web",mode="push"} 600');
    expect(text).not.toMatch(/runnerd_credential_expiry_seconds\{scope="org:acme"/);
    expect(text).toContain('runnerd_credential_last_push_age_seconds{scope="repo:acme/web"} 3000');
    expect(text).toContain('runnerd_credential_health{scope="repo:acme/web",mode="push",level="warn"} 1');
    expect(text).toContain('runnerd_credential_health{scope="repo:acme/web",mode="push",level="ok"} 0');
    expect(text).toContain('runnerd_github_rate_limit_remaining{connection="pat",credential="pat",resource="core"} 4990');
    expect(text).toContain('runnerd_github_requests{connection="pat",route="POST /orgs/{org}/actions/runners/generate-jitconfig",status="201"} 3');
    remaining = 4989;
    expect(await registry.metrics()).toContain('runnerd_github_rate_limit_remaining{connection="pat",credential="pat",resource="core"} 4989');
  });
});

describe("runner metrics", () => {
  it("shows each pool's blocker as a gauge and counts runners' self-updates", async () => {
    const registry = createMetricsRegistry({ now: () => now, credentials: () => [], github: () => [] });
    const pools: PoolStatus[] = [
      { name: "web", scope: "repo:acme/web", idle: 0, busy: 0, starting: 0, finishing: 0, floor: 1, ceiling: 2, blocked: "runner-deprecated" },
      { name: "api", scope: "repo:acme/api", idle: 1, busy: 0, starting: 0, finishing: 0, floor: 1, ceiling: 2 },
    ];
    const metrics = new RunnerMetrics(registry, { runners: () => [], pools: () => pools });
    metrics.selfUpdated("web", 2);
    metrics.selfUpdated("web", 1);
    const text = await registry.metrics();
    expect(text).toContain('runnerd_pool_blocked{pool="web",reason="runner-deprecated"} 1');
    expect(text).not.toMatch(/runnerd_pool_blocked\{pool="api"/);
    expect(text).toContain('runnerd_runner_self_updates_total{pool="web"} 3');
  });

  it("shows a pool's backoff on every scrape while it lasts, a retry under way included", async () => {
    const registry = createMetricsRegistry({ now: () => now, credentials: () => [], github: () => [] });
    // Retrying right now: the plan does not call the pool blocked, its backoff still stands.
    const pools: PoolReport[] = [
      { name: "web", scope: "repo:acme/web", idle: 1, busy: 0, starting: 0, finishing: 0, floor: 2, ceiling: 3, failures: 4, backoffReason: "spawn-lxd", lastError: { message: "no space left on device", at: now } },
      { name: "api", scope: "repo:acme/api", idle: 1, busy: 0, starting: 0, finishing: 0, floor: 1, ceiling: 2 },
    ];
    new RunnerMetrics(registry, { runners: () => [], pools: () => pools });
    const text = await registry.metrics();
    expect(text).toContain('runnerd_pool_backoff_failures{pool="web"} 4');
    expect(text).toContain('runnerd_pool_backoff_failures{pool="api"} 0');
    expect(text).toContain('runnerd_pool_backoff{pool="web",reason="spawn-lxd"} 1');
    expect(text).not.toMatch(/runnerd_pool_backoff\{pool="api"/);
  });
});
