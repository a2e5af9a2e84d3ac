import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/load.js";
import { concurrentRunners, defaultLimits, LIMIT_DEFAULTS, limitsConfig, poolLimits, sizeBytes, worstCaseDiskBytes } from "./runner-limits.js";
import { reconcilerSettings } from "./settings-from-config.js";

const GiB = 1024 ** 3;

describe("default runner limits", () => {
  it("counts the runners that can run at once: max_runners, or the pools' ceilings when they add up to less", () => {
    expect(concurrentRunners(10, [2, 3])).toBe(5);
    expect(concurrentRunners(4, [2, 3])).toBe(4);
    expect(concurrentRunners(10, [0])).toBe(1);
    expect(concurrentRunners(10, [])).toBe(1);
  });

  it("gives each runner every CPU and an even share of 80% of the host's memory", () => {
    expect(defaultLimits({ cpus: 16, memoryBytes: 64 * GiB }, 4)).toEqual({ cpu: "16", memory: "13107MiB", processes: "10000", disk: "20GiB" });
    // 24 GiB host (the test host), 2 runners: 9.6 GiB each.
    expect(defaultLimits({ cpus: 2, memoryBytes: 24 * GiB }, 2).memory).toBe("9830MiB");
  });

  it("never goes below 2 GiB, unless the host itself has less to give", () => {
    // 8 GiB × 0.8 / 10 = 655 MiB: raised to the floor (the host is then overcommitted, not the runner starved).
    expect(defaultLimits({ cpus: 4, memoryBytes: 8 * GiB }, 10).memory).toBe("2048MiB");
    // A 2 GiB host: the floor is what the host can give at most.
    expect(defaultLimits({ cpus: 1, memoryBytes: 2 * GiB }, 3).memory).toBe("1638MiB");
  });

  it("falls back to a share LXD resolves itself when the host's size is unknown", () => {
    expect(defaultLimits(null, 4)).toEqual({ memory: "20%", processes: "10000", disk: "20GiB" });
    expect(defaultLimits(null, 1000).memory).toBe("1%");
    expect(defaultLimits({ cpus: 0, memoryBytes: 0 }, 2).cpu).toBeUndefined();
  });

  it("lets a pool's own values replace each default, one by one", () => {
    const defaults = defaultLimits({ cpus: 8, memoryBytes: 32 * GiB }, 4);
    expect(poolLimits({}, defaults)).toEqual(defaults);
    expect(poolLimits({ cpu: "0-1", memory: "50%", processes: 500, disk: "8GiB" }, defaults)).toEqual({ cpu: "0-1", memory: "50%", processes: "500", disk: "8GiB" });
    expect(poolLimits({ memory: "3GiB" }, defaults)).toEqual({ ...defaults, memory: "3GiB" });
  });

  it("turns limits into LXD keys, with swap off so a job over its memory is OOM-killed in its container", () => {
    expect(limitsConfig({ cpu: "4", memory: "2048MiB", processes: "10000", disk: "20GiB" })).toEqual({
      "limits.cpu": "4",
      "limits.memory": "2048MiB",
      "limits.memory.swap": "false",
      "limits.processes": "10000",
    });
    expect(limitsConfig({ memory: "20%", processes: "10000", disk: "20GiB" })).not.toHaveProperty("limits.cpu");
    expect(LIMIT_DEFAULTS.memoryFloorBytes).toBe(2 * GiB);
  });
});

describe("root disks against the storage pool", () => {
  it("reads LXD sizes", () => {
    expect(sizeBytes("20GiB")).toBe(20 * GiB);
    expect(sizeBytes("1.5GB")).toBe(1.5e9);
    expect(sizeBytes("4096")).toBe(4096);
    expect(sizeBytes("20 parsecs")).toBeNull();
  });

  it("adds up the largest disks that max_runners lets run at once", () => {
    const pools = [
      { ceiling: 3, disk: "20GiB" },
      { ceiling: 2, disk: "50GiB" },
      { ceiling: 4, disk: undefined },
    ];
    expect(worstCaseDiskBytes(pools, 3)).toBe(120 * GiB);
    expect(worstCaseDiskBytes(pools, 10)).toBe(160 * GiB);
  });
});

const head = `github:
  main: { auth: { type: push } }
`;

function settingsFor(yaml: string, host = { cpus: 4, memoryBytes: 16 * GiB }) {
  return reconcilerSettings(parseConfig(head + yaml, "runnerd.yaml"), host);
}

describe("runner limits in the pools' instance settings", () => {
  it("puts the derived limits on every runner, split over max_runners or the ceilings", () => {
    const [web] = settingsFor(`max_runners: 10
pools:
  - { name: web, scope: { repo: acme/web }, image: x, runners: { floor: 1, ceiling: 4 } }
`).pools;
    // 16 GiB × 0.8 / 4 (the only pool's ceiling, below max_runners) = 3.2 GiB.
    expect(web?.instanceConfig).toMatchObject({ "limits.cpu": "4", "limits.memory": "3276MiB", "limits.memory.swap": "false", "limits.processes": "10000" });
    expect(web?.devices.root).toEqual({ type: "disk", path: "/", pool: "default", size: "20GiB" });
  });

  it("takes the pool's instance keys, and lets the operator's raw config and root device win over everything", () => {
    const [own, raw] = settingsFor(`pools:
  - name: own
    scope: { repo: acme/web }
    image: x
    instance: { cpu: 2, memory: 6GiB, processes: 2000, disk: 50GiB }
  - name: raw
    scope: { repo: acme/web }
    image: x
    instance:
      memory: 6GiB
      config: { limits.memory: 7GiB, limits.processes: 300, limits.memory.swap: true }
      devices: { root: { size: 9GiB } }
`).pools;
    expect(own?.instanceConfig).toMatchObject({ "limits.cpu": "2", "limits.memory": "6GiB", "limits.processes": "2000" });
    expect(own?.devices.root?.size).toBe("50GiB");
    expect(raw?.instanceConfig).toMatchObject({ "limits.cpu": "4", "limits.memory": "7GiB", "limits.processes": "300", "limits.memory.swap": "true" });
    expect(raw?.devices.root).toEqual({ type: "disk", path: "/", pool: "default", size: "9GiB" });
  });

  it("refuses a process limit that is not a positive whole number", () => {
    expect(() => settingsFor(`pools:
  - { name: web, scope: { repo: acme/web }, image: x, instance: { processes: 0 } }
`)).toThrow(/processes/);
  });
});
