// The Debian package (issue 15, item 1): scripts/build-deb.sh builds it, and dpkg-deb shows its
// control fields, its files and their modes, the unit it ships and that its command runs. Building
// compiles better-sqlite3 (minutes on two cores), so this runs only with RUNNERD_TEST_DEB=1:
//   RUNNERD_TEST_DEB=1 npx vitest run --project unit test/unit/deb-package.test.ts
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exampleConfig } from "../../src/config/index.js";

const root = join(import.meta.dirname, "..", "..");
const enabled = process.env.RUNNERD_TEST_DEB === "1";
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });

/** `dpkg-deb -c` lines → path (without the leading `.`) → mode string, owner and link target. */
function contents(deb: string): Map<string, { mode: string; owner: string; link?: string }> {
  const entries = new Map<string, { mode: string; owner: string; link?: string }>();
  for (const line of run("dpkg-deb", ["-c", deb]).trim().split("\n")) {
    const match = /^(\S+)\s+(\S+)\s+\d+\s+\S+\s+\S+\s+\.(\/\S*)(?: -> (\S+))?$/.exec(line);
    if (!match) throw new Error(`unexpected dpkg-deb -c line: ${line}`);
    const [, mode = "", owner = "", path = "", link] = match;
    entries.set(path.replace(/(.)\/$/, "$1"), { mode, owner, ...(link ? { link } : {}) });
  }
  return entries;
}

describe.skipIf(!enabled)("the Debian package (scripts/build-deb.sh)", () => {
  let out = "";
  let deb = "";
  let tree = "";
  let control = "";

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), "runnerd-deb-test-"));
    const built = spawnSync(join(root, "scripts", "build-deb.sh"), { cwd: root, env: { ...process.env, DEB_OUT: out }, encoding: "utf8", timeout: 25 * 60_000 });
    expect(built.status, built.stderr).toBe(0);
    deb = built.stdout.trim().split("\n").at(-1) ?? "";
    tree = join(out, "tree");
    control = join(out, "control");
    run("dpkg-deb", ["-x", deb, tree]);
    run("dpkg-deb", ["-e", deb, control]);
  }, 25 * 60_000);

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it("is named and described from package.json and this machine's architecture", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    const arch = run("dpkg", ["--print-architecture"]).trim();
    expect(deb).toBe(join(out, `runnerd_${pkg.version}_${arch}.deb`));
    const field = (name: string) => run("dpkg-deb", ["-f", deb, name]).trim();
    expect(field("Package")).toBe("runnerd");
    expect(field("Version")).toBe(pkg.version);
    expect(field("Architecture")).toBe(arch);
    expect(field("Maintainer")).toMatch(/^.+ <[^<>@\s]+@[^<>@\s]+>$/);
    expect(field("Description")).toMatch(/^ephemeral self-hosted GitHub Actions runners/);
    expect(field("Recommends")).toBe("lxd | incus, btrfs-progs");
    const major = Number(process.versions.node.split(".")[0]);
    expect(field("Depends")).toMatch(new RegExp(`^nodejs \\(>= 20\\.19\\), nodejs \\(<< ${major + 1}\\), adduser, .*libc6 \\(>= `));
    expect(run("dpkg-deb", ["-I", deb])).toMatch(/Installed-Size: \d+/);
  });

  it("holds the command, the unit, the schema, the manual page, completions and the addon, and no live config", () => {
    const files = contents(deb);
    expect(files.get("/usr/bin/runnerd")).toMatchObject({ mode: "lrwxrwxrwx", link: "../lib/runnerd/bin/runnerd" });
    expect(files.get("/usr/lib/runnerd/bin/runnerd")?.mode).toBe("-rwxr-xr-x");
    expect(files.get("/usr/lib/runnerd/package.json")?.mode).toBe("-rw-r--r--");
    expect(files.get("/usr/lib/runnerd/dist/src/cli/main.js")?.mode).toBe("-rw-r--r--");
    expect(files.get("/usr/lib/runnerd/node_modules/better-sqlite3/build/Release/better_sqlite3.node")?.mode).toBe("-rw-r--r--");
    // The agent runnerd pushes into instances, beside dist/src/agent/index.js (a package has no src/).
    expect(files.get("/usr/lib/runnerd/dist/src/agent/runner-agent.sh")?.mode).toBe("-rwxr-xr-x"); // it starts with #! (lintian script-not-executable)
    expect(files.get("/usr/lib/systemd/system/runnerd.service")?.mode).toBe("-rw-r--r--");
    expect(files.get("/usr/share/runnerd/runnerd-config.schema.json")?.mode).toBe("-rw-r--r--");
    expect(files.get("/usr/share/doc/runnerd/copyright")?.mode).toBe("-rw-r--r--");
    expect(files.get("/etc/runnerd")?.mode).toBe("drwxr-x---");
    // `runnerd init` writes the config; the package ships only the example.
    expect(files.has("/etc/runnerd/config.yaml")).toBe(false);
    expect(files.get("/usr/share/doc/runnerd/config.example.yaml")?.mode).toBe("-rw-r--r--");
    for (const path of ["/usr/share/man/man1/runnerd.1.gz", "/usr/share/bash-completion/completions/runnerd", "/usr/share/zsh/vendor-completions/_runnerd"]) {
      expect(files.get(path)?.mode, path).toBe("-rw-r--r--");
    }
    expect([...files.values()].every((entry) => entry.owner === "root/root")).toBe(true);
    // Only the compiled JavaScript (no source maps), the addon without its sources and objects,
    // no npm packages' own tests.
    const paths = [...files.keys()];
    // (The agent's script and unit are runnerd's own files beside the agent module, checked above.)
    expect(paths.filter((path) => path.startsWith("/usr/lib/runnerd/dist/") && !path.startsWith("/usr/lib/runnerd/dist/src/agent/") && !/(\/|\.js)$/.test(path) && files.get(path)?.mode.startsWith("-"))).toEqual([]);
    expect(paths.filter((path) => path.startsWith("/usr/lib/runnerd/node_modules/better-sqlite3/") && /\/(deps|src|obj\.target)\//.test(path))).toEqual([]);
    expect(paths.filter((path) => /^\/usr\/lib\/runnerd\/node_modules\/(@[^/]+\/)?[^/]+\/(test|\.bin)$/.test(path))).toEqual([]);
    expect(existsSync(join(control, "conffiles"))).toBe(false);
    expect(readFileSync(join(tree, "usr/share/doc/runnerd/config.example.yaml"), "utf8")).toBe(exampleConfig());
    expect(readFileSync(join(tree, "usr/share/runnerd/runnerd-config.schema.json"), "utf8")).toBe(readFileSync(join(root, "schema/runnerd-config.schema.json"), "utf8"));
  });

  it("has executable maintainer scripts that check with sh -n", () => {
    for (const script of ["postinst", "prerm", "postrm"]) {
      expect((statSync(join(control, script)).mode & 0o777).toString(8), script).toBe("755");
      expect(readFileSync(join(control, script), "utf8")).toMatch(/^#!\/bin\/sh\n[\s\S]*\nset -e\n/);
      expect(spawnSync("sh", ["-n", join(control, script)]).status, script).toBe(0);
    }
    for (const file of ["control", "md5sums"]) {
      expect((statSync(join(control, file)).mode & 0o777).toString(8), file).toBe("644");
    }
  });

  it("ships deploy/systemd/runnerd.service with /usr/bin/runnerd and without the lxd group", () => {
    const shipped = readFileSync(join(tree, "usr/lib/systemd/system/runnerd.service"), "utf8").split("\n");
    expect(shipped).toContain("ExecStart=/usr/bin/runnerd --config /etc/runnerd/config.yaml up");
    expect(shipped.filter((line) => line.startsWith("SupplementaryGroups="))).toEqual([]);
    // Every other setting (the hardening) is the source unit's.
    const settings = (lines: string[]) => lines.filter((line) => /^[A-Za-z]+=/.test(line) && !/^(ExecStart|Documentation|SupplementaryGroups)=/.test(line));
    expect(settings(shipped)).toEqual(settings(readFileSync(join(root, "deploy/systemd/runnerd.service"), "utf8").split("\n")));
  });

  it("runs from its own files: the packaged command prints the schema", () => {
    const printed = run("node", [join(tree, "usr/lib/runnerd/bin/runnerd"), "config", "schema"]);
    expect(printed).toBe(readFileSync(join(root, "schema/runnerd-config.schema.json"), "utf8"));
  });

  it("ships the manual page and completions the packaged command prints", () => {
    const packaged = (...args: string[]) => run("node", [join(tree, "usr/lib/runnerd/bin/runnerd"), ...args]);
    expect(readFileSync(join(tree, "usr/share/bash-completion/completions/runnerd"), "utf8")).toBe(packaged("completion", "bash"));
    expect(readFileSync(join(tree, "usr/share/zsh/vendor-completions/_runnerd"), "utf8")).toBe(packaged("completion", "zsh"));
    const page = run("sh", ["-c", `gzip -dc ${join(tree, "usr/share/man/man1/runnerd.1.gz")}`]);
    expect(page).toMatch(/^\.TH RUNNERD 1 /);
    expect(page).toContain("runnerd init");
  });
});
