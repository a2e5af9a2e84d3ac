// Instances: list, read, create, start, stop, delete and reconfigure containers.
import { LxdError } from "../errors.js";
import { isDeadlineError, isNotFound, parseMetadata } from "./response.js";
import { waitForOperation, settle } from "./operations.js";
import { instanceSchema, instanceStateSchema } from "./schema.js";
import type { InstanceBody } from "./schema.js";
import type { Transport } from "./transport.js";
import { z } from "zod";

export type InstanceStatus = "Running" | "Stopped" | "Frozen" | "Error" | "Starting" | "Stopping" | (string & {});

export interface Instance {
  name: string;
  status: InstanceStatus;
  statusCode: number;
  /** The instance's own config (not expanded with profiles): runnerd keeps its labels here. */
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
  profiles: string[];
  createdAt: Date;
  location: string;
  type: string;
}

export interface InstanceFilter {
  configKey: string;
  value: string;
  /**
   * Also return instances the server cannot read: on a cluster, those of a member that does not
   * answer are listed as a placeholder with status "Error", their location, and no config at all
   * (Incus 6.0, LXD 5.0), so no config filter matches them, on the server or here.
   */
  includeUnreadable?: boolean;
}

/** A local alias or fingerprint, or an alias on a remote image server (downloaded and cached by LXD). */
/** `certificate`: PEM the image server must present (a self-signed one), added as a trusted root. */
export type ImageSource = { alias: string; server?: string; protocol?: "simplestreams" | "lxd"; certificate?: string } | { fingerprint: string };

export interface CreateInstanceSpec {
  name: string;
  source: ImageSource;
  config?: Record<string, string>;
  devices?: Record<string, Record<string, string>>;
  profiles?: string[];
  ephemeral?: boolean;
  start?: boolean;
  /** How long creating may take (downloading a remote image takes minutes). */
  timeoutMs?: number;
  /** On a cluster: the member, or `@group`, to place it on; the server's scheduler chooses unless set. */
  target?: string;
}

export interface StopOptions {
  force?: boolean;
  /** How long a clean shutdown may take before LXD gives up (-1: LXD's default). */
  timeoutSeconds?: number;
}

export interface InstanceState {
  status: InstanceStatus;
  statusCode: number;
  pid: number | undefined;
  processes: number | undefined;
  memoryUsageBytes: number | undefined;
  /** Bytes used per disk device, when the storage driver reports it (btrfs needs quotas). */
  diskUsageBytes: Record<string, number>;
}

export async function listInstances(t: Transport, filter: InstanceFilter | undefined, serverSideFilter: boolean): Promise<Instance[]> {
  const what = "list instances";
  const query: Record<string, string | number> = { recursion: 1 };
  // The filter language splits on spaces and has no quoting in LXD 5.0, so only simple values go to the server.
  if (filter && serverSideFilter && !filter.includeUnreadable && /^[\w.:/-]+$/.test(filter.configKey + filter.value)) {
    query.filter = `config.${filter.configKey} eq ${filter.value}`;
  }
  const res = await t.request("GET", "/1.0/instances", { what, query });
  const bodies = parseMetadata(what, z.array(instanceSchema).nullable(), res.kind === "sync" ? res.metadata : undefined) ?? [];
  const all = bodies.map(toInstance);
  // Filtered locally as well: the server filter is an optimisation, this is the contract.
  return filter ? all.filter((i) => i.config[filter.configKey] === filter.value || (filter.includeUnreadable === true && isUnreadable(i))) : all;
}

/** A cluster's placeholder for an instance on a member that does not answer (see InstanceFilter). */
export function isUnreadable(i: Instance): boolean {
  return i.status === "Error" && Object.keys(i.config).length === 0;
}

export async function getInstance(t: Transport, name: string, timeoutMs?: number): Promise<Instance | null> {
  const what = `read instance ${name}`;
  try {
    const res = await t.request("GET", instancePath(name), { what, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    return toInstance(parseMetadata(what, instanceSchema, res.kind === "sync" ? res.metadata : undefined));
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/**
 * Creates a container and waits until it exists. A duplicate name fails with status 409.
 * `startInCreate`: the server has `instance_create_start`; otherwise start is a second call.
 */
export async function createInstance(t: Transport, spec: CreateInstanceSpec, startInCreate: boolean): Promise<void> {
  const what = `create instance ${spec.name}`;
  const source: Record<string, string> = "alias" in spec.source ? { type: "image", alias: spec.source.alias } : { type: "image", fingerprint: spec.source.fingerprint };
  if ("alias" in spec.source && spec.source.server !== undefined) {
    source.server = spec.source.server;
    source.protocol = spec.source.protocol ?? "simplestreams";
    if (spec.source.certificate !== undefined) source.certificate = spec.source.certificate;
  }
  const body: Record<string, unknown> = {
    name: spec.name,
    type: "container",
    source,
    config: spec.config ?? {},
    devices: spec.devices ?? {},
    profiles: spec.profiles ?? ["default"],
    ephemeral: spec.ephemeral ?? false,
  };
  if (spec.start && startInCreate) body.start = true;
  try {
    const query = spec.target !== undefined ? { target: spec.target } : undefined;
    const res = await t.request("POST", "/1.0/instances", { what, body, ...(query ? { query } : {}) });
    await settle(t, res, { what, ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}) });
  } catch (err) {
    throw duplicateAsConflict(missingImageAsNotFound(err, spec.source));
  }
  if (spec.start && !startInCreate) await startInstance(t, spec.name);
}

/**
 * A local image that does not exist, as 404 "not found" whatever the daemon said: LXD answers 404.
 * Incus 6.0.4 ignores the lookup's 404 and fails the operation with 500 "Image not provided for
 * instance creation" (lxc/incus cmd/incusd/instances_post.go, instancesPost and createFromImage),
 * which would read as a transient failure worth retrying soon.
 */
export function missingImageAsNotFound(err: unknown, source: ImageSource): unknown {
  if (!(err instanceof LxdError) || ("alias" in source && source.server !== undefined)) return err;
  if (!/Image not provided for instance creation/i.test(err.message)) return err;
  const ref = "alias" in source ? source.alias : source.fingerprint;
  return new LxdError(`${err.message} (image ${ref} not found)`, 404, { cause: err });
}

/**
 * A create whose name is taken, as 409 whatever the daemon said. LXD 5.0 answers 409 or fails the
 * operation with "already exists" (see finishedOperation). Incus 6.0.4 fails it with 500 "Failed
 * creating instance record: ... UNIQUE constraint failed: instances.project_id, instances.name"
 * (its operation wait answers the failure as an error envelope, lxc/incus cmd/incusd/operations.go,
 * operationWaitGet); later Incus answers 500 'Instance "x" already exists' (instances_post.go).
 */
export function duplicateAsConflict(err: unknown): unknown {
  if (!(err instanceof LxdError) || err.status === 409) return err;
  if (!/already exists|UNIQUE constraint failed: instances\./i.test(err.message)) return err;
  return new LxdError(err.message, 409, { cause: err });
}

/** Starting a running instance succeeds: the caller wanted it running. */
export async function startInstance(t: Transport, name: string): Promise<void> {
  await changeState(t, name, "start", { action: "start", timeout: -1 }, /already running/i);
}

/** Stopping a stopped instance succeeds: the caller wanted it stopped. */
export async function stopInstance(t: Transport, name: string, opts: StopOptions = {}): Promise<void> {
  await changeState(t, name, "stop", { action: "stop", force: opts.force ?? false, timeout: opts.timeoutSeconds ?? -1 }, /already stopped/i);
}

/** 404 means already gone, which is what the caller wanted. A running instance needs `force`. */
export async function deleteInstance(t: Transport, name: string, opts: { force?: boolean } = {}): Promise<void> {
  const what = `delete instance ${name}`;
  try {
    if (opts.force) await stopInstance(t, name, { force: true });
    await waitForStopCleanup(t, name);
    const res = await t.request("DELETE", instancePath(name), { what });
    await settle(t, res, { what });
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
}

/**
 * Waits, at most `timeoutMs`, until the daemon has finished a stop it has not processed yet: an
 * instance that stopped by itself reads Stopped with `volatile.last_state.power=RUNNING` until
 * the daemon's stop hook has cleaned up its devices and recorded STOPPED (measured: ~0.6 s on LXD
 * 5.0.2; on Incus 6.0.4 Stopped, then Running while its stop operation holds the instance's lock,
 * lxc/incus internal/server/instance/drivers/driver_lxc.go statusCode, then Stopped). Deleted
 * before that, Incus's hook fails ("The stop hook failed to load ... Instance not found") and
 * leaves the proxy devices' forkproxy processes (~40 MB each) behind.
 */
export async function waitForStopCleanup(t: Transport, name: string, timeoutMs = 10_000, pollMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let first = true; ; first = false) {
    // Each read gets what is left of the bound: a hung answer must not stretch it to 30 s. The
    // wait is a courtesy: at its end the caller goes on, it does not fail (a stop that happened
    // while a cluster member's daemon was down is never processed: it would fail every time).
    // It says whether LXD is done with the stop (true) or the wait ran out first (false).
    let instance: Instance | null;
    try {
      instance = await getInstance(t, name, Math.max(1, deadline - Date.now()));
    } catch (err) {
      if (isDeadlineError(err)) return false;
      throw err;
    }
    if (!instance) return true;
    const unprocessed = instance.status === "Stopped" && instance.config["volatile.last_state.power"] === "RUNNING";
    // Running again after that is Incus's stop lock, not a restart: keep waiting (bounded).
    if (!unprocessed && (first || instance.status !== "Running")) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Sets the given config keys and leaves the others alone (PATCH merges). */
export async function updateInstanceConfig(t: Transport, name: string, config: Record<string, string>): Promise<void> {
  const what = `update config of instance ${name}`;
  const res = await t.request("PATCH", instancePath(name), { what, body: { config } });
  await settle(t, res, { what });
}

export async function getInstanceState(t: Transport, name: string): Promise<InstanceState> {
  const what = `read state of instance ${name}`;
  const res = await t.request("GET", `${instancePath(name)}/state`, { what });
  const s = parseMetadata(what, instanceStateSchema, res.kind === "sync" ? res.metadata : undefined);
  const diskUsageBytes: Record<string, number> = {};
  for (const [device, usage] of Object.entries(s.disk ?? {})) {
    if (usage.usage !== undefined) diskUsageBytes[device] = usage.usage;
  }
  return {
    status: s.status,
    statusCode: s.status_code,
    pid: s.pid,
    processes: s.processes,
    memoryUsageBytes: s.memory?.usage,
    diskUsageBytes,
  };
}

export function instancePath(name: string): string {
  return `/1.0/instances/${encodeURIComponent(name)}`;
}

async function changeState(t: Transport, name: string, verb: string, body: Record<string, unknown>, alreadyDone: RegExp): Promise<void> {
  const what = `${verb} instance ${name}`;
  try {
    const res = await t.request("PUT", `${instancePath(name)}/state`, { what, body });
    if (res.kind === "async") await waitForOperation(t, res.operation, { what });
  } catch (err) {
    // LXD answers these as failed operations; only the text tells them apart.
    if (err instanceof LxdError && alreadyDone.test(err.message)) return;
    throw err;
  }
}

function toInstance(b: InstanceBody): Instance {
  return {
    name: b.name,
    status: b.status,
    statusCode: b.status_code,
    config: b.config ?? {},
    devices: b.devices ?? {},
    profiles: b.profiles ?? [],
    createdAt: new Date(b.created_at),
    location: b.location ?? "",
    type: b.type ?? "container",
  };
}
