// Instances: list, read, create, start, stop, delete and reconfigure containers.
import { LxdError } from "../errors.js";
import { isNotFound, parseMetadata } from "./response.js";
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
}

/** A local alias or fingerprint, or an alias on a remote image server (downloaded and cached by LXD). */
export type ImageSource = { alias: string; server?: string; protocol?: "simplestreams" | "lxd" } | { fingerprint: string };

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
  if (filter && serverSideFilter && /^[\w.:/-]+$/.test(filter.configKey + filter.value)) {
    query.filter = `config.${filter.configKey} eq ${filter.value}`;
  }
  const res = await t.request("GET", "/1.0/instances", { what, query });
  const bodies = parseMetadata(what, z.array(instanceSchema).nullable(), res.kind === "sync" ? res.metadata : undefined) ?? [];
  const all = bodies.map(toInstance);
  // Filtered locally as well: the server filter is an optimisation, this is the contract.
  return filter ? all.filter((i) => i.config[filter.configKey] === filter.value) : all;
}

export async function getInstance(t: Transport, name: string): Promise<Instance | null> {
  const what = `read instance ${name}`;
  try {
    const res = await t.request("GET", instancePath(name), { what });
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
  const res = await t.request("POST", "/1.0/instances", { what, body });
  await settle(t, res, { what, ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}) });
  if (spec.start && !startInCreate) await startInstance(t, spec.name);
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
    const res = await t.request("DELETE", instancePath(name), { what });
    await settle(t, res, { what });
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
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
