// Issue 15, item 5: runnerd installed as an operator would. The Debian package is built
// (scripts/build-deb.sh) and installed with apt into a fresh Debian 13 system container with
// systemd (debootstrapped like the Debian 12 test image, packages through the tests' apt cache),
// the host's LXD (or Incus) socket handed in through a `proxy` device and the emulator reached the
// same way. `apt install` pulls Debian's nodejs; systemd runs the packaged unit with its
// hardening; the package ships no config and the unit waits for one; `runnerd init --preseed`
// writes it (and the PAT file) and runs doctor; runners appear in the host's backend and run a
// job; an upgrade to a newer package keeps them; `apt purge` removes the service and the config and
// leaves the secret file, the backend and its runners alone.
import { execFile, type ExecFileOptions } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend, backendCli, backendSocket, repoRoot } from "../../src/cli/demo/lxd-host.js";
import { createTestWorld, ensureTestImage, lxdOrSkip, testImage, testStoragePool, waitFor, type TestWorld } from "../support/lxd-harness.js";

const lxd = await lxdOrSkip();
const execFileAsync = promisify(execFile);
/** execFile with stdin closed: `lxc init` reads a config from a stdin that is not a terminal. */
function run(file: string, args: string[], options: ExecFileOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const pending = execFileAsync(file, args, { maxBuffer: 16 * 1024 * 1024, ...options, encoding: "utf8" });
  pending.child.stdin?.end();
  return pending;
}
const host = "rt-pkg-" + Math.random().toString(36).slice(2, 8);
const cli = backendCli();
const group = backend() === "incus" ? "incus-admin" : "lxd";

/** Runs a shell command as root in the package's host container. */
async function sh(script: string, timeoutMs = 300_000): Promise<string> {
  const { stdout } = await run(cli, ["exec", host, "--", "bash", "-euo", "pipefail", "-c", script], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** The package of this tree, built once per tree state (both backends' runs share it). */
async function buildPackage(): Promise<string> {
  // What goes into the package (tests do not).
  const shipped = ["src", "bin", "deploy", "schema", "scripts/build-deb.sh", "package.json", "package-lock.json", "README.md", "tsconfig.json", "tsconfig.build.json"];
  const { stdout: files } = await run("git", ["ls-files", "-s", "--", ...shipped], { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 });
  const { stdout: diff } = await run("git", ["diff", "HEAD", "--", ...shipped], { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 });
  // New files not yet committed count too (their names and contents).
  const { stdout: untracked } = await run("git", ["ls-files", "-o", "--exclude-standard", "-z", "--", ...shipped], { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 });
  const hash = createHash("sha256").update(files).update(diff);
  for (const file of untracked.split("\0").filter(Boolean).sort()) hash.update(file).update(readFileSync(join(repoRoot, file)));
  const key = hash.digest("hex").slice(0, 12);
  const out = join(repoRoot, "dist-deb", key);
  const built = () => (existsSync(out) ? readdirSync(out).find((f) => f.endsWith(".deb") && !f.includes("+next")) : undefined);
  if (!built()) {
    mkdirSync(out, { recursive: true });
    await run("bash", [join(repoRoot, "scripts", "build-deb.sh")], { cwd: repoRoot, env: { ...process.env, DEB_OUT: out }, timeout: 900_000, maxBuffer: 64 * 1024 * 1024 });
  }
  const deb = built();
  if (!deb) throw new Error(`scripts/build-deb.sh made no .deb in ${out}`);
  return join(out, deb);
}

/** The same package with a higher version, as the next release would be. */
async function bumped(deb: string): Promise<string> {
  const dir = `${deb}.next`;
  const next = deb.replace(/\.deb$/, "+next.deb");
  if (existsSync(next)) return next;
  await run("rm", ["-rf", dir]);
  await run("dpkg-deb", ["-R", deb, dir]);
  const control = join(dir, "DEBIAN", "control");
  writeFileSync(control, readFileSync(control, "utf8").replace(/^Version: (.*)$/m, "Version: $1+next1"));
  await run("dpkg-deb", ["--root-owner-group", "-b", dir, next]);
  return next;
}

/** Runs `step`; when it fails, the error carries the service's journal (the container goes at afterAll). */
async function withJournal<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const journal = await sh("journalctl -u runnerd --no-pager -o cat | tail -n 40; systemctl status runnerd --no-pager | head -n 20").catch((e: unknown) => String(e));
    throw new Error(`${(err as Error).message}\n--- runnerd's journal ---\n${journal}`, { cause: err });
  }
}

describe.skipIf(lxd.skip)(`the Debian package on Debian 13 with systemd (${backend()})`, () => {
  let world: TestWorld;
  let deb: string;

  beforeAll(async () => {
    [deb] = await Promise.all([
      buildPackage(),
      ensureTestImage(),
      run("bash", [join(repoRoot, "test/support/images/build-debian-source-image.sh")], { env: { ...process.env, RUNNERD_DEBIAN_SUITE: "trixie" }, timeout: 900_000 }),
    ]);
    world = await createTestWorld();
    const port = world.emulator.port;
    await run(cli, ["init", "runnerd-test/debian13", host, "-s", testStoragePool, "-c", "security.nesting=true"]);
    const device = (name: string, ...kv: string[]) => run(cli, ["config", "device", "add", host, name, "proxy", "bind=instance", ...kv]);
    await device("apt", "listen=tcp:127.0.0.1:3142", "connect=tcp:127.0.0.1:3142");
    await device("github", `listen=tcp:127.0.0.1:${port}`, `connect=tcp:127.0.0.1:${port}`);
    await run(cli, ["start", host]);
    await sh("systemctl is-system-running --wait >/dev/null || true", 120_000);
    // The backend's group, as installing LXD or Incus would make it; its socket, handed in.
    const gid = Number((await sh(`groupadd --system ${group} && mkdir -p ${join(backendSocket(), "..")} && getent group ${group} | cut -d: -f3`)).trim());
    await device("backend", `listen=unix:${backendSocket()}`, `connect=unix:${backendSocket()}`, `gid=${gid}`, "mode=0660");
  }, 1_200_000);

  afterAll(async () => {
    await run(cli, ["delete", "--force", host]).catch(() => undefined);
    await world?.cleanup();
  });

  it("installs with apt, runs a job under systemd, keeps its runners through an upgrade, and purges cleanly", async () => {
    const emu = world.emulator;
    const started = Date.now();
    await run(cli, ["file", "push", deb, `${host}/root/runnerd.deb`]);
    // Without Recommends: they name lxd | incus, and an LXD installed in this container would
    // shadow the host's socket handed in at the same path.
    await sh(`echo 'Acquire::http::Proxy "http://127.0.0.1:3142";' >/etc/apt/apt.conf.d/01proxy
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /root/runnerd.deb >/dev/null`, 600_000);
    expect(await sh("id -nG runnerd")).toContain(group);
    expect((await sh("stat -c '%a %U' /var/lib/runnerd; stat -c '%a %U:%G' /etc/runnerd")).split("\n")).toEqual(["700 runnerd", "750 root:runnerd", ""]);
    expect(await sh("systemctl is-enabled runnerd || true")).toMatch(/disabled/); // a new install waits for its configuration

    // No config in the package: the unit's start is skipped (not failed, so no restart loop).
    expect(await sh("test -e /etc/runnerd/config.yaml && echo present || echo absent")).toBe("absent\n");
    await sh("systemctl start runnerd");
    const skipped = (await sh("systemctl show runnerd -p ConditionResult -p ActiveState")).split("\n").filter(Boolean).sort();
    expect(skipped).toEqual(["ActiveState=inactive", "ConditionResult=no"]);
    // The manual page and completions, generated from the program at build time.
    expect(await sh("ls /usr/share/man/man1/runnerd.1.gz /usr/share/bash-completion/completions/runnerd /usr/share/zsh/vendor-completions/_runnerd && bash -n /usr/share/bash-completion/completions/runnerd && echo ok")).toMatch(/ok\n$/);

    // The operator's configuration, from `runnerd init --preseed`: a PAT it writes (0600, runnerd's),
    // a pool of two on the backend's storage pool (which init finds through the socket it detects).
    const preseed = {
      lxd: { storage_pool: testStoragePool },
      github: { name: "emu", url: emu.url, auth: "pat", token: emu.pat },
      pools: [{ name: "pkg", scope: "acme/pkg", floor: 2, image: testImage, name_prefix: "rt", instance: { devices: { github: { type: "proxy", bind: "instance", listen: `tcp:127.0.0.1:${emu.port}`, connect: `tcp:127.0.0.1:${emu.port}` } } } }],
      settings: { controller_id: world.controllerId, state_dir: "/var/lib/runnerd", resync_interval: "2s", boot_timeout: "60s", log_level: "info", http: { listen: "127.0.0.1:0" } },
    };
    writeFileSync(join(world.stateDir, "preseed.yaml"), stringify(preseed), { mode: 0o600 });
    await run(cli, ["file", "push", join(world.stateDir, "preseed.yaml"), `${host}/root/preseed.yaml`, "--mode", "0600"]);
    const init = await sh("runnerd init --preseed /root/preseed.yaml 2>&1");
    expect(init).toContain("wrote /etc/runnerd/github-pat (mode 0600, owned by runnerd): github.emu.auth.token_file");
    expect(init).toContain("wrote /etc/runnerd/config.yaml (mode 0640, root:runnerd): 1 pool(s)");
    expect(init).toContain("doctor found no problem");
    expect(init).not.toMatch(/FAIL/);
    expect(init).not.toContain(emu.pat);
    expect((await sh("stat -c '%a %U:%G' /etc/runnerd/config.yaml /etc/runnerd/github-pat")).split("\n")).toEqual(["640 root:runnerd", "600 runnerd:runnerd", ""]);
    // Run again, it refuses to replace the config (exit 2) and leaves it as it was.
    expect(await sh("rc=0; runnerd init --preseed /root/preseed.yaml >/dev/null 2>/tmp/init.err || rc=$?; echo \"exit $rc: $(cat /tmp/init.err)\"")).toBe("exit 2: runnerd: init: /etc/runnerd/config.yaml exists; runnerd init replaces it (and the secret files it writes) only with --force. Check it with: runnerd config check\n");
    await sh("systemctl enable --now runnerd");

    const listening = () => emu.runners().filter((r) => "repo" in r.scope && r.scope.repo === "acme/pkg" && r.listeningAt !== null);
    await withJournal(() => waitFor("2 runners listening", () => listening().length === 2 || undefined, 240_000, 500));
    const job = emu.enqueueJob({ scope: { repo: "acme/pkg" }, labels: ["self-hosted"], name: "packaged", script: "echo from-the-package" });
    const [done] = await emu.waitForJobs([job.id], 180_000);
    expect(done?.conclusion).toBe("success");
    const firstJobMs = Date.now() - started;
    // The job's runner collected, as the journal tells it.
    await withJournal(() => waitFor("the journal showing the runner collected", async () => (await sh("journalctl -u runnerd --no-pager -o cat | grep -c 'runner collected' || true")).trim() !== "0" || undefined, 60_000, 1000));
    // The packaged unit's hardening, as systemd applies it.
    const shown = await sh("systemctl show runnerd -p NoNewPrivileges -p ProtectSystem -p User -p LimitCORE");
    for (const line of ["NoNewPrivileges=yes", "ProtectSystem=strict", "User=runnerd", "LimitCORE=0"]) expect(shown).toContain(line);

    // Upgrade: the old daemon leaves its runners, the new one adopts them and runs the next job.
    await waitFor("2 runners listening again", () => listening().length === 2 || undefined, 240_000, 500);
    const before = new Set((await world.instances()).map((i) => i.name));
    const next = await bumped(deb);
    await run(cli, ["file", "push", next, `${host}/root/runnerd-next.deb`]);
    await sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /root/runnerd-next.deb >/dev/null", 300_000);
    expect(await sh("dpkg-query -W -f '${Version}' runnerd")).toMatch(/\+next1$/);
    expect(await sh("systemctl is-active runnerd")).toMatch(/^active/);
    const kept = (await world.instances()).filter((i) => before.has(i.name));
    expect(kept.length).toBe(before.size);
    const after = emu.enqueueJob({ scope: { repo: "acme/pkg" }, labels: ["self-hosted"], name: "after-upgrade", script: "echo still-here" });
    const [later] = await emu.waitForJobs([after.id], 180_000);
    expect(later?.conclusion).toBe("success");
    expect(before.has(later?.runnerName ?? "")).toBe(true);
    for (const j of [done, later]) expect(emu.runnerHistory().filter((r) => r.name === j?.runnerName)).toHaveLength(1);

    // A store from a newer runnerd (what a downgrade meets): the service refuses it, saying why,
    // and touches nothing; put back, it starts again. (store/migrations.ts; user_version counts steps.)
    const pragma = (set: string) => `cd /usr/lib/runnerd && runuser -u runnerd -- node -e 'const D=require("better-sqlite3"); const d=new D("/var/lib/runnerd/runnerd.db"); ${set} console.log(d.pragma("user_version",{simple:true}));'`;
    const steps = Number(await sh(pragma("")));
    await sh("systemctl stop runnerd");
    await sh(pragma(`d.pragma("user_version = ${steps + 1}");`));
    await sh("systemctl start runnerd || true");
    await withJournal(() => waitFor("the journal naming the newer store", async () => (await sh("journalctl -u runnerd --no-pager -o cat | grep -c 'is newer than this runnerd supports' || true")).trim() !== "0" || undefined, 60_000, 1000));
    await sh("systemctl stop runnerd; systemctl reset-failed runnerd || true");
    await sh(pragma(`d.pragma("user_version = ${steps}");`));
    await sh("systemctl start runnerd");
    expect(await sh("systemctl is-active runnerd")).toMatch(/^active/);

    // Purge: the service and its files go; the backend and the runners it holds stay.
    const runners = (await world.instances()).length;
    await sh("DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq runnerd >/dev/null", 300_000);
    expect(await sh("(systemctl list-unit-files runnerd.service --no-legend || true) | wc -l")).toBe("0\n");
    expect(await sh("test -e /usr/bin/runnerd && echo present || echo gone")).toBe("gone\n");
    // The config init wrote goes with the purge; the secret file, maybe the only copy, stays.
    expect(await sh("for f in config.yaml github-pat; do test -e /etc/runnerd/$f && echo $f present || echo $f gone; done")).toBe("config.yaml gone\ngithub-pat present\n");
    expect((await world.instances()).length).toBeGreaterThanOrEqual(Math.min(runners, 1));
    process.stderr.write(`package: ${deb.split("/").pop()}, apt install to the first job done: ${firstJobMs} ms\n`);
  }, 1_200_000);
});
