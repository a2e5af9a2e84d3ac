// Test harness for the 3-member test cluster scripts/setup-cluster.sh builds on this host (issue 14
// item 7): which backend and directories, skipping without a cluster, the backend's CLI pointed at
// one member, and the member failures the tests need (kill a daemon, start it again, evacuate).
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { createLxdClient } from "../../src/lxd/index.js";
import { backend, repoRoot, waitFor } from "./lxd-harness.js";

const run = promisify(execFile);

export const memberNames = ["m1", "m2", "m3"] as const;
export type MemberName = (typeof memberNames)[number];

const memberScript = join(repoRoot, "scripts", "lib", "cluster-member.sh");

/** The cluster's backend: the harness's own (RUNNERD_BACKEND, lxd unless set), as scripts/lib/cluster.sh reads it. */
export const clusterBackend = backend;

/** The cluster's directory (RUNNERD_CLUSTER_DIR as printed by the setup script, else its default). */
export function clusterDir(): string {
  if (process.env.RUNNERD_CLUSTER_DIR) return process.env.RUNNERD_CLUSTER_DIR;
  return join(process.env.RUNNERD_CLUSTER_ROOT ?? "/var/lib/runnerd-cluster", clusterBackend());
}

/** The host's address on the cluster's test bridge (scripts/lib/cluster.sh: the subnet's .1). */
export function bridgeAddress(): string {
  const subnet = process.env.RUNNERD_CLUSTER_SUBNET ?? (clusterBackend() === "lxd" ? "10.199.51" : "10.199.52");
  return `${subnet}.1`;
}

export function memberDir(name: MemberName): string {
  return join(clusterDir(), name);
}

export function memberSocket(name: MemberName): string {
  return join(memberDir(name), "unix.socket");
}

/** The environment that points the backend's CLI (and the image scripts) at one member. */
export function memberEnv(name: MemberName): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, RUNNERD_BACKEND: clusterBackend() };
  delete env.LXD_SOCKET;
  delete env.INCUS_SOCKET;
  if (clusterBackend() === "lxd") env.LXD_DIR = memberDir(name);
  else env.INCUS_DIR = memberDir(name);
  return env;
}

/**
 * Runs `lxc ARGS` (or `incus ARGS`) against a member (default m1); its stdout, or an error with its
 * stderr. Stdin is `input`, else empty: `launch` and `init` read a config from a stdin that is not
 * a terminal, and would wait forever on an open pipe.
 */
export function cli(args: string[], options: { member?: MemberName; timeoutMs?: number; input?: string } = {}): Promise<string> {
  const command = clusterBackend() === "lxd" ? "lxc" : "incus";
  const member = options.member ?? "m1";
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: memberEnv(member), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(" ")} (on ${member}): ${err.message}`, { cause: err }));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(" ")} (on ${member}): ${signal ? `killed by ${signal} after ${timeoutMs} ms` : `exit ${code}`}: ${stderr.trim()}`));
    });
    child.stdin.end(options.input ?? "");
  });
}

export interface ClusterMember {
  server_name: string;
  url: string;
  roles: string[];
  status: string;
  message: string;
  [key: string]: unknown;
}

/** The CLI's `cluster list` as JSON, as one member (default m1) sees it. */
export async function members(via: MemberName = "m1"): Promise<ClusterMember[]> {
  return JSON.parse(await cli(["cluster", "list", "--format", "json"], { member: via, timeoutMs: 30_000 })) as ClusterMember[];
}

async function memberCommand(action: "pid" | "kill" | "start", name: MemberName, timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await run("bash", [memberScript, action, name, String(Math.ceil(timeoutMs / 1000))], {
      env: { ...process.env, RUNNERD_BACKEND: clusterBackend(), RUNNERD_CLUSTER_ROOT: join(clusterDir(), "..") },
      timeout: timeoutMs + 30_000,
    });
    return stdout.trim();
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`cluster-member.sh ${action} ${name}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** The member daemon's pid, or undefined when it is not running. */
export async function memberPid(name: MemberName): Promise<number | undefined> {
  const out = await memberCommand("pid", name);
  return out ? Number(out) : undefined;
}

/**
 * SIGKILLs the member's daemon, as if its host died: its containers run on, unmanaged, until
 * `restartMember`. The other members notice only after cluster.offline_threshold (11 s here).
 */
export async function killMember(name: MemberName): Promise<void> {
  await memberCommand("kill", name);
}

/** Starts the member's daemon again in its namespace and waits until another member shows it Online. */
export async function restartMember(name: MemberName, timeoutMs = 120_000): Promise<void> {
  const started = Date.now();
  await memberCommand("start", name, timeoutMs);
  const via = memberNames.find((m) => m !== name) ?? "m1";
  await waitFor(`${name} Online as seen from ${via}`, async () => (await members(via)).find((m) => m.server_name === name)?.status === "Online", Math.max(10_000, timeoutMs - (Date.now() - started)), 500);
}

/** Moves the member's instances away and marks it Evacuated (`cluster evacuate --force`). */
export async function evacuate(name: MemberName, via: MemberName = "m1"): Promise<void> {
  await cli(["cluster", "evacuate", name, "--force"], { member: via, timeoutMs: 300_000 });
}

/** Brings an evacuated member back (`cluster restore --force`). */
export async function restore(name: MemberName, via: MemberName = "m1"): Promise<void> {
  await cli(["cluster", "restore", name, "--force"], { member: via, timeoutMs: 300_000 });
}

/** Why the cluster cannot be used, or undefined when m1 answers as a member of three Online members. */
export async function clusterUnavailableReason(dir = clusterDir()): Promise<string | undefined> {
  const socketPath = join(dir, "m1", "unix.socket");
  if (!existsSync(socketPath)) return `no ${clusterBackend()} test cluster: ${socketPath} does not exist`;
  const client = createLxdClient({ socketPath, timeoutMs: 10_000 });
  try {
    const info = await client.transport.request("GET", "/1.0", { what: "read the cluster's m1" });
    const env = (info.kind === "sync" ? info.metadata : undefined) as { environment?: { server_clustered?: boolean } } | undefined;
    if (env?.environment?.server_clustered !== true) return `${socketPath} answers but is not clustered`;
    const res = await client.transport.request("GET", "/1.0/cluster/members", { what: "list the cluster members", query: { recursion: 1 } });
    const list = (res.kind === "sync" ? res.metadata : []) as { server_name: string; status: string }[];
    const notOnline = list.filter((m) => m.status !== "Online").map((m) => `${m.server_name} ${m.status}`);
    if (list.length !== memberNames.length || notOnline.length > 0) {
      return `the cluster at ${dir} is not healthy (${list.length} members${notOnline.length ? `; ${notOnline.join(", ")}` : ""}): run scripts/setup-cluster.sh, which repairs it`;
    }
    return undefined;
  } catch (err) {
    return `the ${clusterBackend()} cluster at ${socketPath} does not answer: ${(err as Error).message} (run scripts/setup-cluster.sh)`;
  } finally {
    await client.close();
  }
}

/**
 * Cluster tests are skipped with a clear message when no cluster is up, except with
 * RUNNERD_REQUIRE_CLUSTER=1, where a missing cluster is a failure.
 */
export async function clusterOrSkip(dir?: string): Promise<{ skip: boolean; reason?: string }> {
  const reason = await clusterUnavailableReason(dir);
  if (!reason) return { skip: false };
  if (process.env.RUNNERD_REQUIRE_CLUSTER === "1") throw new Error(`RUNNERD_REQUIRE_CLUSTER=1 but the test cluster is not usable: ${reason}`);
  console.warn(`skipping cluster tests: ${reason} (run RUNNERD_BACKEND=${clusterBackend()} scripts/setup-cluster.sh; set RUNNERD_REQUIRE_CLUSTER=1 to make this a failure)`);
  return { skip: true, reason };
}

/**
 * Points the rest of the test harness at a member (default m1) by the environment it reads:
 * RUNNERD_BACKEND and RUNNERD_LXD_SOCKET (the socket createTestWorld puts in runnerd's config, and
 * lxdOrSkip checks) and LXD_DIR / INCUS_DIR (the CLI that ensureTestImage's image script runs).
 * Returns a function that puts the environment back.
 */
export function pointHarnessAtCluster(member: MemberName = "m1"): () => void {
  const keys = ["RUNNERD_BACKEND", "RUNNERD_LXD_SOCKET", "LXD_DIR", "INCUS_DIR", "LXD_SOCKET", "INCUS_SOCKET"] as const;
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  const env = memberEnv(member);
  for (const k of keys) {
    if (env[k] === undefined) delete process.env[k];
    else process.env[k] = env[k];
  }
  process.env.RUNNERD_LXD_SOCKET = memberSocket(member);
  return () => {
    for (const k of keys) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  };
}

/**
 * Listens on `host:port` (the bridge's host address) and pipes each connection to the same port on
 * the host's loopback: a runner's proxy device dials from its member's network namespace, where
 * the emulator on the host's loopback is out of reach.
 */
export function forwardToLoopback(host: string, port: number): Promise<Server> {
  const server = createServer((socket) => {
    const upstream = connect(port, "127.0.0.1");
    socket.pipe(upstream).pipe(socket);
    socket.on("error", () => upstream.destroy());
    upstream.on("error", () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** The proxy device that leads a runner on the cluster to the emulator (through forwardToLoopback). */
export function emulatorDevice(port: number): Record<string, Record<string, string>> {
  return { github: { type: "proxy", bind: "instance", listen: `tcp:127.0.0.1:${port}`, connect: `tcp:${bridgeAddress()}:${port}` } };
}
