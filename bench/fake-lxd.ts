// An in-process LXD for the scale simulation (scale-sim.ts): instances spread over cluster members
// (`location` m01..mNN), agents whose status files the simulation moves along, every call counted
// by method, and an optional latency per call. Unlike the unit tests' fake (src/pools/
// test-support.ts) it keeps no log of calls, so that thousands of passes cost it nothing.
import { writeFileSync } from "node:fs";
import { ownershipConfig, paths } from "../src/pools/ownership.js";
import type { CreateInstanceRequest, InstanceSummary, LxdPort } from "../src/pools/ports.js";

interface SimInstance {
  status: "Running" | "Stopped";
  config: Record<string, string>;
  location: string;
  files: Map<string, string>;
}

export type AgentState = "configuring" | "idle" | "busy" | "finished";

export class SimLxd implements LxdPort {
  readonly instances = new Map<string, SimInstance>();
  /** Calls per method since the start (or the last `resetCalls`). */
  readonly calls = new Map<string, number>();
  /** Added to every call (a setTimeout), to show what a slow LXD does to a pass. */
  latencyMs = 0;
  private placed = 0;

  constructor(
    private readonly members: number,
    private readonly now: () => number,
  ) {}

  totalCalls(): number {
    let total = 0;
    for (const n of this.calls.values()) total += n;
    return total;
  }

  /** An instance as a spawn would have made it, already running, with its agent at `state`. */
  addRunner(name: string, pool: string, controller: string, state: AgentState): void {
    const config = ownershipConfig(controller, pool, `repo:acme/${pool}`, "runnerd/default", new Date(this.now()));
    config["volatile.base_image"] = "f".repeat(64);
    this.instances.set(name, { status: "Running", config, location: this.nextMember(), files: new Map() });
    this.setAgent(name, state);
  }

  /** Writes the status file as the agent does (`at` in whole seconds). */
  setAgent(name: string, state: AgentState, job?: string): void {
    const at = Math.floor(this.now() / 1000);
    this.instances.get(name)?.files.set(paths.status, `state=${state}\nat=${at}\n${job ? `job=${job}\n` : ""}`);
  }

  /** What the agent does at the end of a job: result, logs, "finished", poweroff. */
  finishJob(name: string, job: string): void {
    const i = this.instances.get(name);
    if (!i) return;
    const at = Math.floor(this.now() / 1000);
    i.files.set(paths.result, JSON.stringify({ exit_code: 0, job_seen: true, job_name: job, listening_at: at - 2, job_started_at: at - 1 }));
    i.files.set(paths.logArchive, "logs");
    this.setAgent(name, "finished");
    i.status = "Stopped";
  }

  namesIn(state: AgentState): string[] {
    const needle = `state=${state}\n`;
    return [...this.instances].filter(([, i]) => i.status === "Running" && i.files.get(paths.status)?.startsWith(needle)).map(([name]) => name);
  }

  private nextMember(): string {
    return `m${String((this.placed++ % this.members) + 1).padStart(2, "0")}`;
  }

  private async call(method: string): Promise<void> {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
  }

  async listInstances(filter: { configKey: string; value: string }): Promise<InstanceSummary[]> {
    const list: InstanceSummary[] = [];
    for (const [name, i] of this.instances) {
      if (i.config[filter.configKey] === filter.value) list.push({ name, status: i.status, config: { ...i.config }, location: i.location });
    }
    await this.call("listInstances");
    return list;
  }

  async createInstance(request: CreateInstanceRequest): Promise<void> {
    await this.call("createInstance");
    // A member runnerd placed it on, or the server's choice (round robin here).
    const target = (request as { target?: string }).target;
    const location = target !== undefined && !target.startsWith("@") ? target : this.nextMember();
    this.instances.set(request.name, { status: "Stopped", config: { ...request.config, "volatile.base_image": "f".repeat(64) }, location, files: new Map() });
  }

  /** All members online: runnerd reads them on passes to place runners and notice a lost member. */
  async clusterMembers(): Promise<{ name: string; status: string; groups: string[] }[]> {
    await this.call("clusterMembers");
    return Array.from({ length: this.members }, (_, i) => ({ name: `m${String(i + 1).padStart(2, "0")}`, status: "Online", groups: ["default"] }));
  }

  async startInstance(name: string): Promise<void> {
    await this.call("startInstance");
    const i = this.instances.get(name);
    if (!i) throw new Error(`no instance ${name}`);
    i.status = "Running";
    this.setAgent(name, "configuring");
  }

  async stopInstance(name: string): Promise<void> {
    await this.call("stopInstance");
    const i = this.instances.get(name);
    if (i) i.status = "Stopped";
  }

  async deleteInstance(name: string): Promise<void> {
    await this.call("deleteInstance");
    this.instances.delete(name);
  }

  async makeDirectory(): Promise<void> {
    await this.call("makeDirectory");
  }

  async pushFile(instance: string, path: string, content: Buffer | string): Promise<void> {
    await this.call("pushFile");
    this.instances.get(instance)?.files.set(path, content.toString());
  }

  async pullFile(instance: string, path: string): Promise<Buffer | null> {
    await this.call(path === paths.status ? "pullFile(status)" : "pullFile");
    const content = this.instances.get(instance)?.files.get(path);
    return content === undefined ? null : Buffer.from(content);
  }

  async pullFileTo(instance: string, path: string, dest: string): Promise<{ bytes: number; truncated: boolean } | null> {
    await this.call("pullFileTo");
    const content = this.instances.get(instance)?.files.get(path);
    if (content === undefined) return null;
    writeFileSync(dest, content, { mode: 0o640 });
    return { bytes: Buffer.byteLength(content), truncated: false };
  }

  async waitForStopCleanup(): Promise<boolean> {
    await this.call("waitForStopCleanup");
    return true;
  }

  async getImageAlias(): Promise<{ target: string } | null> {
    await this.call("getImageAlias");
    return { target: "f".repeat(64) };
  }
}
