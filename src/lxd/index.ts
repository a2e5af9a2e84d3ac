// runnerd's LXD client: one facade over the transport and the per-resource functions in this folder.
import { execInstance } from "./exec.js";
import type { ExecOptions, ExecResult } from "./exec.js";
import { subscribeEvents } from "./events.js";
import type { EventSubscription, SubscribeOptions } from "./events.js";
import { deleteFile, listDirectory, makeDirectory, pullFile, pullFileTo, pushFile, type PulledFile, type PullOptions } from "./files.js";
import type { MakeDirectoryOptions, PushOptions } from "./files.js";
import type { Readable } from "node:stream";
import { deleteImage, deleteImageAlias, getImage, getImageAlias, importImage, listImages, pointAlias, publishInstance } from "./images.js";
import type { Image, ImageAlias, ImportImageOptions, PublishOptions } from "./images.js";
import {
  createInstance,
  deleteInstance,
  getInstance,
  getInstanceState,
  listInstances,
  startInstance,
  stopInstance,
  updateInstanceConfig,
  waitForStopCleanup,
} from "./instances.js";
import type { CreateInstanceSpec, Instance, InstanceFilter, InstanceState, StopOptions } from "./instances.js";
import { listClusterMembers } from "./cluster.js";
import type { ClusterMember } from "./cluster.js";
import { getHostResources, getServerInfo } from "./server.js";
import type { HostResources, ServerInfo } from "./server.js";
import { getStoragePool, getStoragePoolResources } from "./storage.js";
import type { StoragePool, StoragePoolResources } from "./storage.js";
import { createTransport } from "./transport.js";
import type { Transport, TransportOptions } from "./transport.js";

export type LxdClientOptions = TransportOptions;

export type { HostResources, ServerInfo } from "./server.js";
export type { ClusterMember, MemberStatus } from "./cluster.js";
export type { Instance, InstanceFilter, InstanceState, InstanceStatus, CreateInstanceSpec, ImageSource, StopOptions } from "./instances.js";
export type { FileOwnership, MakeDirectoryOptions, PulledFile, PullOptions, PushOptions } from "./files.js";
export type { ExecOptions, ExecResult } from "./exec.js";
export type { Image, ImageAlias, ImportImageOptions, PublishOptions } from "./images.js";
export { isImageFingerprint } from "./images.js";
export type { StoragePool, StoragePoolResources } from "./storage.js";
export type { EventSubscription, EventType, LifecycleAction, LifecycleEvent, LxdEvent, OtherEvent, SubscribeOptions, BackoffPolicy } from "./events.js";
export type { Transport, TransportOptions, RequestOptions, RawAnswer, Query, HttpMethod } from "./transport.js";
export type { LxdResult } from "./response.js";
export { instanceNameFromLifecycle, isInstanceStopEvent, reconnectDelayMs } from "./events.js";
export { detectLxdSocket, defaultSocketCandidates } from "./socket-path.js";
export { isDeadlineError, isNotFound, isUnreached } from "./response.js";

const clusterRecheckMs = 5 * 60_000;

export function createLxdClient(opts: LxdClientOptions): LxdClient {
  return new LxdClient(createTransport(opts));
}

/** The only class here: a facade so callers depend on one narrow object, and tests can fake it. */
export class LxdClient {
  private extensions: Promise<Set<string>> | undefined;
  /** Whether the server is a cluster member, and when that was read (a server can join a cluster). */
  private clustered: { value: boolean; at: number } | undefined;

  constructor(readonly transport: Transport) {}

  async serverInfo(): Promise<ServerInfo> {
    const info = await getServerInfo(this.transport);
    this.extensions = Promise.resolve(new Set(info.apiExtensions));
    this.clustered = { value: info.clustered, at: Date.now() };
    return info;
  }

  /**
   * The cluster's members and their state; empty on a server that is not clustered. Whether it
   * is clustered is read again every few minutes, so a standalone server costs one call per pass
   * only then.
   */
  async clusterMembers(opts: { timeoutMs?: number } = {}): Promise<ClusterMember[]> {
    if (this.clustered === undefined || Date.now() - this.clustered.at > clusterRecheckMs) await this.serverInfo();
    if (!this.clustered?.value) return [];
    return listClusterMembers(this.transport, opts.timeoutMs);
  }

  /** The host's CPU count and memory (`GET /1.0/resources`). */
  hostResources(opts: { timeoutMs?: number } = {}): Promise<HostResources> {
    return getHostResources(this.transport, opts.timeoutMs);
  }

  /** Whether the server has an API extension; read once per client, since it changes only on upgrade. */
  async hasExtension(name: string): Promise<boolean> {
    this.extensions ??= getServerInfo(this.transport).then((i) => new Set(i.apiExtensions));
    try {
      return (await this.extensions).has(name);
    } catch (err) {
      this.extensions = undefined;
      throw err;
    }
  }

  async listInstances(filter?: InstanceFilter): Promise<Instance[]> {
    return listInstances(this.transport, filter, filter !== undefined && (await this.hasExtension("api_filtering")));
  }

  getInstance(name: string): Promise<Instance | null> {
    return getInstance(this.transport, name);
  }

  async createInstance(spec: CreateInstanceSpec): Promise<void> {
    return createInstance(this.transport, spec, spec.start === true && (await this.hasExtension("instance_create_start")));
  }

  startInstance(name: string): Promise<void> {
    return startInstance(this.transport, name);
  }

  stopInstance(name: string, opts?: StopOptions): Promise<void> {
    return stopInstance(this.transport, name, opts);
  }

  deleteInstance(name: string, opts?: { force?: boolean }): Promise<void> {
    return deleteInstance(this.transport, name, opts);
  }

  /** Waits (bounded) until LXD has run the stop hook of an instance that stopped by itself. */
  waitForStopCleanup(name: string, timeoutMs?: number): Promise<boolean> {
    return waitForStopCleanup(this.transport, name, timeoutMs);
  }

  updateInstanceConfig(name: string, config: Record<string, string>): Promise<void> {
    return updateInstanceConfig(this.transport, name, config);
  }

  instanceState(name: string): Promise<InstanceState> {
    return getInstanceState(this.transport, name);
  }

  pushFile(instance: string, path: string, content: Buffer | string | Readable, opts?: PushOptions): Promise<void> {
    return pushFile(this.transport, instance, path, content, opts);
  }

  makeDirectory(instance: string, path: string, opts?: MakeDirectoryOptions): Promise<void> {
    return makeDirectory(this.transport, instance, path, opts);
  }

  pullFile(instance: string, path: string, opts?: PullOptions): Promise<Buffer | null> {
    return pullFile(this.transport, instance, path, opts);
  }

  pullFileTo(instance: string, path: string, dest: string, opts?: PullOptions): Promise<PulledFile | null> {
    return pullFileTo(this.transport, instance, path, dest, opts);
  }

  listDirectory(instance: string, path: string): Promise<string[] | null> {
    return listDirectory(this.transport, instance, path);
  }

  deleteFile(instance: string, path: string): Promise<void> {
    return deleteFile(this.transport, instance, path);
  }

  exec(instance: string, command: string[], opts?: ExecOptions): Promise<ExecResult> {
    return execInstance(this.transport, instance, command, opts);
  }

  listImages(): Promise<Image[]> {
    return listImages(this.transport);
  }

  getImage(fingerprint: string): Promise<Image | null> {
    return getImage(this.transport, fingerprint);
  }

  getImageAlias(alias: string): Promise<ImageAlias | null> {
    return getImageAlias(this.transport, alias);
  }

  deleteImage(fingerprint: string): Promise<void> {
    return deleteImage(this.transport, fingerprint);
  }

  importImage(tarballPath: string, opts: ImportImageOptions): Promise<Image> {
    return importImage(this.transport, tarballPath, opts);
  }

  publishInstance(instance: string, opts: PublishOptions): Promise<Image> {
    return publishInstance(this.transport, instance, opts);
  }

  pointImageAlias(alias: string, fingerprint: string): Promise<void> {
    return pointAlias(this.transport, alias, fingerprint);
  }

  deleteImageAlias(alias: string): Promise<void> {
    return deleteImageAlias(this.transport, alias);
  }

  getStoragePool(name: string): Promise<StoragePool | null> {
    return getStoragePool(this.transport, name);
  }

  storagePoolResources(name: string): Promise<StoragePoolResources> {
    return getStoragePoolResources(this.transport, name);
  }

  subscribeEvents(opts: SubscribeOptions): EventSubscription {
    return subscribeEvents(this.transport, opts);
  }

  /**
   * Releases the connection pool; open event subscriptions are closed by their own `close()`. With
   * `graceMs`, calls still in flight after that long are aborted (shutdown with LXD hanging).
   */
  close(graceMs?: number): Promise<void> {
    return this.transport.close(graceMs);
  }
}
