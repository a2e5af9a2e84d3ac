// The example Grafana dashboard only queries metrics runnerd exports.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createMetricsRegistry } from "./metrics.js";
import { RunnerMetrics } from "./runner-metrics.js";

describe("deploy/grafana/runnerd-dashboard.json", () => {
  it("uses only metric names that runnerd exports", () => {
    const registry = createMetricsRegistry({ credentials: () => [], github: () => [], now: () => 0 });
    new RunnerMetrics(registry, { runners: () => [], pools: () => [] });
    const exported = new Set(registry.getMetricsAsArray().map((m) => m.name));
    const dashboard = JSON.parse(readFileSync(new URL("../../deploy/grafana/runnerd-dashboard.json", import.meta.url), "utf8")) as { panels: { targets: { expr: string }[] }[] };
    const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/runnerd_[a-z_]+/g) ?? [])).map((name) => name.replace(/_(bucket|sum|count)$/, "")));
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });
});
