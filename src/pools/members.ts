// The cluster's members as a pass sees them: their state, and since when runnerd has seen each
// one offline (on its own clock: the write-off timeout runs from there, plan.ts).
import type { Logger } from "pino";
import { describeError } from "../errors.js";
import type { LxdPort } from "./ports.js";
import type { MemberState, MemberView } from "./types.js";

/** LXD's and Incus's member states: Online, Evacuated; anything else cannot take or serve runners. */
export function memberState(status: string): MemberState {
  if (status === "Online") return "online";
  // Incus says "Evacuated"; a member part-way through is as good as evacuated for placement.
  if (status === "Evacuated" || status === "Evacuating") return "evacuated";
  return "offline";
}

export class ClusterMembers {
  private last: MemberView[] = [];
  private readonly offlineSince = new Map<string, number>();

  /**
   * One read of the members. When it fails the last view stands (a member being down must not
   * hide the others); an empty answer means one server, not clustered.
   */
  async observe(lxd: Pick<LxdPort, "clusterMembers">, now: number, log: Logger): Promise<MemberView[]> {
    if (!lxd.clusterMembers) return [];
    let read: { name: string; status: string; groups: string[] }[];
    try {
      read = await lxd.clusterMembers();
    } catch (err) {
      if (this.last.length > 0) log.warn({ err: describeError(err) }, "cannot read the cluster's members; using the last view");
      return this.last;
    }
    const views: MemberView[] = [];
    for (const m of read) {
      const state = memberState(m.status);
      if (state === "offline" && !this.offlineSince.has(m.name)) {
        this.offlineSince.set(m.name, now);
        log.warn({ member: m.name, status: m.status }, "cluster member offline: its runners are written off if it stays so");
      }
      if (state !== "offline" && this.offlineSince.delete(m.name)) log.info({ member: m.name, status: m.status }, "cluster member back");
      const since = this.offlineSince.get(m.name);
      views.push({ name: m.name, state, groups: m.groups, ...(since !== undefined ? { offlineSince: since } : {}) });
    }
    for (const name of this.offlineSince.keys()) if (!read.some((m) => m.name === name)) this.offlineSince.delete(name);
    this.last = views;
    return views;
  }
}
