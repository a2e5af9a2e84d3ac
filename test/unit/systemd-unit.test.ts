// The shipped systemd unit: hardened, yet runnerd can still write its state, reach the LXD or
// Incus socket and listen on its HTTP port (issue 12, item 4).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { defaultSocketCandidates } from "../../src/lxd/socket-path.js";
import { resultRead } from "../../src/pools/read-limits.js";

const unitPath = join(import.meta.dirname, "..", "..", "deploy", "systemd", "runnerd.service");

/** `[Section]` → key → values, in file order (a key may repeat); comments and blank lines dropped. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1] ?? "", current);
      continue;
    }
    const eq = line.indexOf("=");
    if (!current || eq < 1) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

const service = parseUnit(readFileSync(unitPath, "utf8")).get("Service") ?? new Map<string, string[]>();
const value = (key: string) => service.get(key)?.at(-1);
/** Space-separated list values of every line of `key`, with systemd's `-` (ignore if missing) and `+` prefixes removed. */
const list = (key: string) => (service.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean).map((p) => p.replace(/^[-+]+/, ""));
const isUnder = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);

const minimalConfig = `github:
  main: { auth: { type: push } }
pools:
  - { name: web, scope: { repo: acme/web }, image: x }
`;
const defaults = parseConfig(minimalConfig, "runnerd.yaml");

describe("deploy/systemd/runnerd.service", () => {
  it("bounds runnerd's memory and writes no core dumps (they would hold tokens and keys)", () => {
    const max = value("MemoryMax") ?? "";
    expect(max).toMatch(/^\d+[KMG]$/);
    const bytes = Number(max.slice(0, -1)) * 1024 ** " KMG".indexOf(max.slice(-1));
    // Above the worst case of what reads hold in memory (every collect at once holding a whole
    // result.json, twice while its chunks are joined; log bundles are streamed to disk) plus 1 GiB
    // for the heap: else hostile runners could crash-loop it.
    expect(bytes).toBeGreaterThanOrEqual(defaults.collect_concurrency * 2 * resultRead.maxBytes + 1024 ** 3);
    expect(bytes).toBeLessThanOrEqual(2 * 1024 ** 3);
    expect(value("LimitCORE")).toBe("0");
  });

  it("sets the usual hardening", () => {
    expect(value("NoNewPrivileges")).toBe("yes");
    expect(value("ProtectSystem")).toBe("strict");
    for (const key of [
      "PrivateTmp",
      "ProtectHome",
      "PrivateDevices",
      "ProtectKernelTunables",
      "ProtectKernelModules",
      "ProtectKernelLogs",
      "ProtectControlGroups",
      "RestrictSUIDSGID",
      "RestrictNamespaces",
      "RestrictRealtime",
      "LockPersonality",
    ]) {
      expect(value(key), key).toBe("yes");
    }
    expect(value("CapabilityBoundingSet")).toBe("");
    expect(value("SystemCallFilter")).toBe("@system-service");
    expect(value("User")).toBe("runnerd");
  });

  it("leaves every path runnerd writes by default writable", () => {
    const writable = [...list("ReadWritePaths"), ...list("StateDirectory").map((d) => `/var/lib/${d}`)];
    // The store, pid and status files, runner logs, the tarball cache and build locks all live under state_dir.
    for (const path of [defaults.state_dir, join(defaults.state_dir, "logs"), join(defaults.state_dir, "cache")]) {
      expect(writable.some((dir) => isUnder(path, dir)), path).toBe(true);
    }
    expect(list("ReadWritePaths")).toContain(defaults.state_dir);
  });

  it("still lets runnerd connect to the LXD or Incus socket", () => {
    // connect() needs write permission on the socket's inode, not a writable mount: the sockets
    // must only stay visible (not hidden by ProtectHome or InaccessiblePaths), reachable as the
    // lxd group (no PrivateUsers, which maps it away), and over AF_UNIX.
    const hidden = ["/home", "/root", "/run/user", ...list("InaccessiblePaths")];
    for (const socket of defaultSocketCandidates) {
      expect(hidden.some((dir) => isUnder(socket, dir)), socket).toBe(false);
      // A bind mount of the socket itself would go stale when LXD makes a new one on restart.
      expect(list("ReadWritePaths"), socket).not.toContain(socket);
    }
    expect(value("PrivateUsers") ?? "no").toBe("no");
    expect(value("SupplementaryGroups")).toMatch(/^(lxd|incus-admin)$/);
    expect(list("RestrictAddressFamilies")).toContain("AF_UNIX");
  });

  it("still lets runnerd listen on its HTTP port and reach GitHub", () => {
    expect(list("RestrictAddressFamilies")).toEqual(expect.arrayContaining(["AF_INET", "AF_INET6"]));
    expect(service.has("IPAddressDeny")).toBe(false);
    expect(service.has("SocketBindDeny")).toBe(false);
    expect(value("PrivateNetwork") ?? "no").toBe("no");
    // No capabilities: the default port must not need CAP_NET_BIND_SERVICE.
    const port = Number(defaults.http.listen.split(":").at(-1));
    expect(port).toBeGreaterThanOrEqual(1024);
  });
});

const analyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });

describe.skipIf(analyze.status !== 0)("the unit as systemd reads it", () => {
  it("passes systemd-analyze verify with no warning (every key known, every value parsed)", () => {
    const dir = mkdtempSync(join(tmpdir(), "runnerd-unit-"));
    try {
      // The binary is not installed here; verify checks that ExecStart exists.
      const file = join(dir, "runnerd.service");
      writeFileSync(file, readFileSync(unitPath, "utf8").replace("/usr/local/bin/runnerd", "/bin/true"));
      const result = spawnSync("systemd-analyze", ["verify", "--man=no", file], { encoding: "utf8", timeout: 30_000 });
      expect(result.stderr, analyze.stdout.split("\n")[0]).toBe("");
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
