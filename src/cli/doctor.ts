// `runnerd doctor`: checks everything runnerd depends on and says what to fix, one line each.
import { checkClusterMembers, type Check } from "./doctor-cluster.js";
import type { Command } from "commander";
import { formatConfigIssues, type Config } from "../config/index.js";
import { connectLxd, type ConnectedLxd } from "../lxd/connect.js";
import { isImageFingerprint } from "../lxd/index.js";
import { scopeKey } from "../config/index.js";
import { credentialSnapshot } from "../github/report.js";
import { worstCaseDiskBytes } from "../pools/runner-limits.js";
import { reconcilerSettings } from "../pools/settings-from-config.js";
import { loadGitHubClients } from "../github/clients.js";
import { createLogger } from "../log.js";
import { readStatusFile, runningDaemonPid } from "../daemon/state-files.js";
import { describeError } from "../errors.js";
import { propertyKeys } from "../images/index.js";
import { instanceRequest } from "../pools/spawn.js";
import { openStore } from "../store/index.js";
import { loadCliConfig, type GlobalOptions } from "./context.js";
import { describeSource, imageSourceReports, targetOf } from "./image-sources.js";
import { gib, humanDuration } from "./output.js";

type Level = Check["level"];

export function registerDoctorCommand(program: Command): void {
  program
    .command("doctor")
    .description("check LXD, the storage pool, images, instance settings (Docker runs inside), tokens and the daemon")
    .option("--no-launch", "do not start a throwaway runner to prove Docker runs inside")
    .action(async (opts: { launch: boolean }) => {
      const { path, config } = loadCliConfig(program.opts<GlobalOptions>());
      const checks: Check[] = [{ level: "ok", message: `configuration ${path} is valid (${config.pools.length} pool(s))` }];
      await runChecks(config, checks, { launch: opts.launch, path });
      for (const c of checks) console.log(`${c.level === "ok" ? "ok  " : c.level === "warn" ? "warn" : "FAIL"}  ${c.message}`);
      const failed = checks.filter((c) => c.level === "fail").length;
      const warned = checks.filter((c) => c.level === "warn").length;
      console.log(`\n${failed} problem(s), ${warned} warning(s)`);
      if (failed > 0) process.exitCode = 1;
    });
}

async function runChecks(config: Config, checks: Check[], options: { launch: boolean; path: string }): Promise<void> {
  let lxd: ConnectedLxd;
  try {
    lxd = await connectLxd(config.lxd, { host: true });
  } catch (err) {
    checks.push({ level: "fail", message: `LXD is not reachable: ${describeError(err)} (is the daemon running? 'lxd waitready' / 'systemctl start lxd', or for Incus 'incus admin waitready')` });
    return;
  }
  try {
    const info = lxd.server;
    checks.push({ level: info.auth === "trusted" ? "ok" : "fail", message: `backend: ${lxd.backend} (${info.driver}, kernel ${info.kernelVersion}${info.clustered ? ", clustered" : ""}, ${info.auth})` });
    await checkStoragePool(lxd, config, checks);
    checks.push(...(await checkClusterMembers(lxd, config)));
    await checkDockerSupport(lxd, config, checks);
    checkImageSources(lxd, config, options.path, checks);
    await checkPools(lxd, config, checks, options);
  } finally {
    await lxd.client.close();
  }
  checkCredentials(config, checks);
  await checkGitHub(config, checks);
  checkRunnerVersions(config, checks);
  const pid = runningDaemonPid(config.state_dir);
  checks.push(pid ? { level: "ok", message: `daemon running (pid ${pid})` } : { level: "warn", message: "daemon not running: start it with 'runnerd up' or 'systemctl start runnerd'" });
}

async function checkStoragePool(lxd: ConnectedLxd, config: Config, checks: Check[]): Promise<void> {
  const name = config.lxd.storage_pool;
  const pool = await lxd.client.getStoragePool(name);
  if (!pool) {
    checks.push({ level: "fail", message: `storage pool ${name} does not exist: create one, e.g. 'lxc storage create ${name} btrfs size=100GiB'` });
    return;
  }
  const fast = pool.driver === "btrfs" || pool.driver === "zfs";
  const dockerPools = config.pools.filter((p) => p.instance.docker).map((p) => p.name);
  if (pool.driver === "dir" && dockerPools.length > 0) {
    checks.push({
      level: "fail",
      message: `storage pool ${name} uses dir, which Docker pools (${dockerPools.join(", ")}) cannot use well: every runner would be a full file-by-file copy of a multi-GiB image (minutes per spawn, GiBs per runner) and Docker's own layers would not be copy-on-write. Create a btrfs or zfs pool ('lxc storage create runners btrfs size=200GiB') and set lxd.storage_pool, or set instance.docker: false for pools without Docker`,
    });
  }
  checks.push({
    level: fast ? "ok" : "warn",
    message: fast
      ? `storage pool ${name} uses ${pool.driver}: copy-on-write clones`
      : `storage pool ${name} uses ${pool.driver}: every runner is a full copy of its image (slow spawns); use btrfs or zfs`,
  });
  if (pool.driver === "dir") {
    // Measured on LXD 5.0.2 and Incus 6.0.4: a root disk `size` on a dir pool over ext4 without
    // project quotas is accepted and ignored; btrfs (qgroups), zfs, lvm and ceph enforce it.
    checks.push({ level: "warn", message: `storage pool ${name} uses dir: runners' root disk size (instance.disk, 20GiB unless set) is enforced only when its filesystem has project quotas, so a job may fill the pool` });
  }
  try {
    const res = await lxd.client.storagePoolResources(name);
    const freeRatio = res.space.total > 0 ? 1 - res.space.used / res.space.total : 1;
    checks.push({ level: freeRatio < 0.1 ? "warn" : "ok", message: `storage pool ${name}: ${gib(res.space.used)} used of ${gib(res.space.total)}` });
    const disks = reconcilerSettings(config, lxd.host).pools.map((p) => ({ ceiling: p.spec.ceiling, disk: p.devices.root?.size }));
    const worst = worstCaseDiskBytes(disks, config.max_runners);
    if (worst > res.space.total) {
      checks.push({ level: "warn", message: `storage pool ${name}: runners' root disks may hold ${gib(worst)} together, more than its ${gib(res.space.total)}: jobs that fill their disks can fill the pool; lower instance.disk or max_runners, or grow the pool` });
    }
  } catch {
    // Not every driver reports usage; not a problem in itself.
  }
}

async function checkDockerSupport(lxd: ConnectedLxd, config: Config, checks: Check[]): Promise<void> {
  const dockerPools = config.pools.filter((p) => p.instance.docker).map((p) => p.name);
  if (dockerPools.length === 0) return;
  const intercept = await lxd.client.hasExtension("container_syscall_intercept");
  checks.push(
    intercept
      ? { level: "ok", message: `LXD intercepts mknod and setxattr for Docker pools (${dockerPools.join(", ")}), with security.nesting=true` }
      : { level: "fail", message: `LXD lacks the container_syscall_intercept API extension that Docker pools (${dockerPools.join(", ")}) rely on; upgrade LXD (5.0 or later) or Incus` },
  );
}

async function checkPools(lxd: ConnectedLxd, config: Config, checks: Check[], options: { launch: boolean }): Promise<void> {
  const settings = reconcilerSettings(config, lxd.host);
  for (const pool of settings.pools) {
    const image = isImageFingerprint(pool.image) ? await lxd.client.getImage(pool.image) : await lxd.client.getImageAlias(pool.image);
    if (!image) {
      checks.push({ level: "fail", message: `pool ${pool.spec.name}: image ${pool.image} not found in LXD ('lxc image list')` });
      continue;
    }
    checks.push({ level: "ok", message: `pool ${pool.spec.name}: image ${pool.image} present` });
    // Creating a throwaway instance proves LXD accepts the pool's profiles, config (nesting
    // among them), devices and storage pool. For a Docker pool on a runnerd image it is also
    // started, with the agent disarmed, to prove Docker runs inside.
    const name = `rd-doctor-${process.pid}`;
    try {
      const request = instanceRequest({ name, pool, controllerId: `${config.controller_id}-doctor`, credential: { token: "" }, agentScript: "", createdAt: new Date() });
      await lxd.client.createInstance(request);
      checks.push({ level: "ok", message: `pool ${pool.spec.name}: LXD accepts its instance settings (${describeLimits(request)})` });
      const builtByRunnerd = await isRunnerdDockerImage(lxd, pool.image);
      if (options.launch && pool.instanceConfig["security.nesting"] === "true" && builtByRunnerd) {
        checks.push(await dockerRunsInside(lxd, name, pool.spec.name));
      }
    } catch (err) {
      checks.push({ level: "fail", message: `pool ${pool.spec.name}: LXD refuses its instance settings: ${describeError(err)}` });
    } finally {
      await lxd.client.deleteInstance(name, { force: true }).catch(() => undefined);
    }
  }
}

/** Whether each image's source can serve this backend, before any build tries it. */
function checkImageSources(lxd: ConnectedLxd, config: Config, path: string, checks: Check[]): void {
  const target = targetOf(lxd);
  for (const { image, check, issue } of imageSourceReports(config, path, target)) {
    if (issue) checks.push({ level: "fail", message: `image ${image}: ${formatConfigIssues([issue])}` });
    else if (check.ok) checks.push({ level: "ok", message: `image ${image}: ${describeSource(check, target)}` });
  }
}

/** Images runnerd built with Docker in them (others may have no systemd or no Docker). */
async function isRunnerdDockerImage(lxd: ConnectedLxd, ref: string): Promise<boolean> {
  const fingerprint = (await lxd.client.getImageAlias(ref))?.target ?? ref;
  const image = await lxd.client.getImage(fingerprint).catch(() => null);
  return image?.properties[propertyKeys.docker] === "true";
}

/** Starts the throwaway instance with the agent replaced by a no-op, and waits for `docker info`. */
async function dockerRunsInside(lxd: ConnectedLxd, name: string, pool: string): Promise<Check> {
  await lxd.client.makeDirectory(name, "/etc/systemd/system/runnerd-agent.service.d", { mode: 0o755, parents: true });
  await lxd.client.pushFile(name, "/etc/systemd/system/runnerd-agent.service.d/doctor.conf", "[Service]\nExecStart=\nExecStart=/bin/true\n", { mode: 0o644 });
  const started = Date.now();
  await lxd.client.startInstance(name);
  let last = "";
  while (Date.now() - started < 90_000) {
    const probe = await lxd.client.exec(name, ["docker", "info", "--format", "{{.ServerVersion}} {{.Driver}}"], { timeoutMs: 20_000 }).catch((err: unknown) => ({ exitCode: -1, stdout: "", stderr: describeError(err) }));
    if (probe.exitCode === 0) {
      const [version, driver] = probe.stdout.trim().split(" ");
      const run = await lxd.client.exec(name, ["sh", "-c", "docker network create doctor-net >/dev/null && docker network rm doctor-net >/dev/null && echo ok"], { timeoutMs: 30_000 }).catch((err: unknown) => ({ exitCode: -1, stdout: "", stderr: describeError(err) }));
      if (run.exitCode !== 0) return { level: "fail", message: `pool ${pool}: Docker ${version} answers inside a runner but cannot create a network: ${run.stderr.trim() || run.stdout.trim()}` };
      return { level: "ok", message: `pool ${pool}: Docker ${version} (${driver}) runs inside a runner (answered ${((Date.now() - started) / 1000).toFixed(1)} s after start; nesting works)` };
    }
    last = probe.stderr.trim() || probe.stdout.trim();
    await new Promise((r) => setTimeout(r, 500));
  }
  return { level: "fail", message: `pool ${pool}: Docker did not answer inside a runner within 90 s (${last}); check security.nesting and 'lxc info' kernel features` };
}

/** Each scope's credential: token expiry and late pushes (push), or PAT expiry and budget (app/pat). */
function checkCredentials(config: Config, checks: Check[]): void {
  const store = openStore(config.state_dir);
  try {
    const daemon = runningDaemonPid(config.state_dir) ? readStatusFile(config.state_dir) : undefined;
    for (const health of credentialSnapshot(config, store.listTokens(), daemon?.github ?? [], Date.now())) {
      checks.push({ level: health.level === "error" ? "fail" : health.level, message: `${health.scope} (${health.mode}): ${health.message}${health.source ? ` via ${health.source}` : ""}` });
    }
  } finally {
    store.close();
  }
}

/** App and pat connections: the secret files, the credential, each scope's access, the API budget. */
async function checkGitHub(config: Config, checks: Check[]): Promise<void> {
  let clients;
  try {
    clients = loadGitHubClients(config, createLogger("silent"));
  } catch (err) {
    checks.push({ level: "fail", message: describeError(err) });
    return;
  }
  for (const [name, { client }] of clients) {
    try {
      if (client.kind === "app") checks.push({ level: "ok", message: `github ${name}: app "${await client.appName()}" authenticates with its private key` });
    } catch (err) {
      checks.push({ level: "fail", message: `github ${name}: ${describeError(err)}` });
      continue;
    }
    const scopes = new Map(reconcilerSettings(config).pools.filter((p) => p.connection === name).map((p) => [scopeKey(p.scopeRef), p]));
    for (const [key, pool] of scopes) {
      try {
        const runners = await client.listRunners(pool.scopeRef);
        if (pool.scopeRef.type === "org" && pool.runnerGroup) await client.runnerGroupId(pool.scopeRef.org, pool.runnerGroup);
        const limit = await client.rateLimit(pool.scopeRef);
        checks.push({ level: "ok", message: `github ${name}: may manage runners of ${key} (${runners.length} registered${pool.runnerGroup ? `, group ${pool.runnerGroup} found` : ""}); API budget ${limit.remaining}/${limit.limit}, resets in ${humanDuration(limit.resetAt - Date.now())}` });
      } catch (err) {
        checks.push({ level: "fail", message: `github ${name}: ${describeError(err)}` });
      }
    }
    const expires = client.tracker.credentialExpiresAt();
    if (expires !== undefined) checks.push({ level: expires - Date.now() < 7 * 86_400_000 ? "warn" : "ok", message: `github ${name}: the PAT expires in ${humanDuration(expires - Date.now())}` });
  }
}

/** From the daemon's last runner-release check (status.json); doctor itself does not call GitHub. */
function checkRunnerVersions(config: Config, checks: Check[]): void {
  const images = runningDaemonPid(config.state_dir) ? (readStatusFile(config.state_dir)?.images ?? []) : [];
  for (const image of images) {
    const level: Level = image.level === "current" ? "ok" : image.level === "behind" || image.level === "unknown" ? "warn" : "fail";
    checks.push({ level, message: `image ${image.alias}: ${image.message} (checked ${image.checkedAt})` });
  }
  for (const name of Object.keys(config.images)) {
    if (!images.some((i) => i.name === name)) checks.push({ level: "warn", message: `image runnerd/${name}: runner version not checked yet (the running daemon checks every ${humanDuration(config.runner_check_interval)})` });
  }
}


/** "cpu 2, memory 4915MiB, processes 10000, disk 20GiB": what each runner of a pool may use. */
function describeLimits(request: { config: Record<string, string>; devices: Record<string, Record<string, string>> }): string {
  const value = (v: string | undefined) => (v === undefined || v === "" ? "unlimited" : v);
  const c = request.config;
  return `cpu ${value(c["limits.cpu"])}, memory ${value(c["limits.memory"])}, processes ${value(c["limits.processes"])}, disk ${value(request.devices.root?.size)}`;
}
