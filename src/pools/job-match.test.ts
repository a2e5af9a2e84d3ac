import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/index.js";
import { matchPool, poolCandidate, poolFits, poolLabelSet, type PoolCandidate } from "./job-match.js";

const pool = (over: Partial<PoolCandidate> & Pick<PoolCandidate, "name">): PoolCandidate => ({
  connection: "main",
  scope: { type: "repo", repo: "Octo/App" },
  labels: [],
  defaultLabels: true,
  priority: 0,
  free: 1,
  ...over,
});
const job = (labels: string[], repository = "octo/app", connection?: string) => ({ repository, labels, connection });

describe("matchPool", () => {
  it("matches the default labels and configured ones without case", () => {
    const pools = [pool({ name: "a", labels: ["GPU"] })];
    expect(matchPool(job(["self-hosted"]), pools, "x64")).toBe("a");
    expect(matchPool(job(["Self-Hosted", "Linux", "X64"]), pools, "x64")).toBe("a");
    expect(matchPool(job(["self-hosted", "linux", "x64", "gpu"]), pools, "x64")).toBe("a");
    expect(matchPool(job(["GPU"]), pools, "x64")).toBe("a");
  });

  it("needs every runs-on label", () => {
    const pools = [pool({ name: "a", labels: ["gpu"] })];
    expect(matchPool(job(["self-hosted", "gpu", "big"]), pools, "x64")).toBeUndefined();
    expect(matchPool(job(["ubuntu-latest"]), pools, "x64")).toBeUndefined();
  });

  it("uses the host architecture", () => {
    const pools = [pool({ name: "a" })];
    expect(matchPool(job(["self-hosted", "ARM64"]), pools, "arm64")).toBe("a");
    expect(matchPool(job(["self-hosted", "ARM64"]), pools, "x64")).toBeUndefined();
    expect(matchPool(job(["X64"]), pools, "arm64")).toBeUndefined();
    expect(poolLabelSet({ labels: [], defaultLabels: true })).toContain(process.arch === "arm64" ? "arm64" : process.arch === "arm" ? "arm" : "x64");
  });

  it("leaves the defaults out when default_labels is off", () => {
    const pools = [pool({ name: "bare", labels: ["runnerd-ci"], defaultLabels: false })];
    expect(matchPool(job(["runnerd-ci"]), pools, "x64")).toBe("bare");
    expect(matchPool(job(["self-hosted", "runnerd-ci"]), pools, "x64")).toBeUndefined();
    expect(matchPool(job(["linux"]), pools, "x64")).toBeUndefined();
  });

  it("treats a job without labels as not ours", () => {
    expect(matchPool(job([]), [pool({ name: "a" })], "x64")).toBeUndefined();
  });

  it("checks the scope: the same repository, or an org pool of its owner, without case", () => {
    const repoPool = pool({ name: "repo", scope: { type: "repo", repo: "Octo/App" } });
    const orgPool = pool({ name: "org", scope: { type: "org", org: "OCTO" } });
    expect(matchPool(job(["self-hosted"], "octo/APP"), [repoPool], "x64")).toBe("repo");
    expect(matchPool(job(["self-hosted"], "octo/other"), [repoPool], "x64")).toBeUndefined();
    expect(matchPool(job(["self-hosted"], "Octo/other"), [orgPool], "x64")).toBe("org");
    expect(matchPool(job(["self-hosted"], "octopus/app"), [orgPool], "x64")).toBeUndefined();
    expect(matchPool(job(["self-hosted"], "other/octo"), [orgPool], "x64")).toBeUndefined();
  });

  it("only considers the job's connection when it names one", () => {
    const pools = [pool({ name: "ghes", connection: "ghes" })];
    expect(matchPool(job(["self-hosted"], "octo/app", "main"), pools, "x64")).toBeUndefined();
    expect(matchPool(job(["self-hosted"], "octo/app", "ghes"), pools, "x64")).toBe("ghes");
    expect(matchPool(job(["self-hosted"]), pools, "x64")).toBe("ghes");
  });

  it("prefers higher priority, even over free capacity", () => {
    const pools = [pool({ name: "a", priority: 0, free: 10 }), pool({ name: "b", priority: 5, free: 0 }), pool({ name: "c", priority: -1, free: 20 })];
    expect(matchPool(job(["self-hosted"]), pools, "x64")).toBe("b");
  });

  it("breaks a priority tie by free capacity, then by name", () => {
    expect(matchPool(job(["self-hosted"]), [pool({ name: "a", free: 1 }), pool({ name: "b", free: 3 })], "x64")).toBe("b");
    expect(matchPool(job(["self-hosted"]), [pool({ name: "zeta", free: 2 }), pool({ name: "alpha", free: 2 }), pool({ name: "mid", free: 2 })], "x64")).toBe("alpha");
  });

  it("still picks a full pool: the job waits for it", () => {
    expect(matchPool(job(["self-hosted"]), [pool({ name: "full", free: 0 })], "x64")).toBe("full");
  });

  it("ignores pools that do not fit when ranking", () => {
    const pools = [pool({ name: "gpu", labels: ["gpu"], priority: 10 }), pool({ name: "plain", priority: 0 })];
    expect(matchPool(job(["self-hosted", "linux"]), pools, "x64")).toBe("gpu");
    expect(matchPool(job(["self-hosted", "gpu"]), pools, "x64")).toBe("gpu");
    expect(poolFits(job(["gpu"]), pools[1] as PoolCandidate, "x64")).toBe(false);
  });
});

describe("poolCandidate", () => {
  it("builds a candidate from the configuration", () => {
    const config = parseConfig(
      `state_dir: /var/lib/runnerd-test
github:
  main: { auth: { type: push } }
pools:
  - { name: big, scope: { org: Acme }, image: x, labels: [gpu], priority: 3, default_labels: false, runners: { floor: 1, ceiling: 4 } }
`,
      "runnerd.yaml",
    );
    const [big] = config.pools;
    if (big === undefined) throw new Error("no pool");
    const candidate = poolCandidate(big, 3);
    expect(candidate).toEqual({ name: "big", connection: big.connection, scope: { type: "org", org: "Acme" }, labels: ["gpu"], defaultLabels: false, priority: 3, free: 1 });
    expect(poolCandidate(big, 9).free).toBe(0);
    expect(matchPool(job(["GPU"], "acme/web"), [candidate], "x64")).toBe("big");
  });
});
