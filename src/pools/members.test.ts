import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { ClusterMembers, memberState } from "./members.js";

const log = pino({ level: "silent" });

describe("cluster members", () => {
  it("maps LXD's and Incus's member states", () => {
    expect(memberState("Online")).toBe("online");
    expect(memberState("Evacuated")).toBe("evacuated");
    expect(memberState("Offline")).toBe("offline");
    expect(memberState("Blocked")).toBe("offline");
  });

  it("dates a member's going offline on runnerd's clock, keeps that date while it stays so, and forgets it when it is back", async () => {
    let status = "Online";
    const lxd = { clusterMembers: async () => [{ name: "m1", status: "Online", groups: ["default"] }, { name: "m2", status, groups: ["default"] }] };
    const members = new ClusterMembers();
    expect((await members.observe(lxd, 1000, log))[1]).toEqual({ name: "m2", state: "online", groups: ["default"] });
    status = "Offline";
    expect((await members.observe(lxd, 2000, log))[1]).toMatchObject({ state: "offline", offlineSince: 2000 });
    expect((await members.observe(lxd, 9000, log))[1]).toMatchObject({ state: "offline", offlineSince: 2000 });
    status = "Online";
    expect((await members.observe(lxd, 10_000, log))[1]?.offlineSince).toBeUndefined();
    status = "Offline";
    expect((await members.observe(lxd, 11_000, log))[1]).toMatchObject({ offlineSince: 11_000 });
  });

  it("keeps the last view when the members cannot be read, and reads a single server as no members", async () => {
    let fail = false;
    const lxd = {
      clusterMembers: async () => {
        if (fail) throw new Error("member m1 unreachable");
        return [{ name: "m1", status: "Online", groups: [] }];
      },
    };
    const members = new ClusterMembers();
    await members.observe(lxd, 1, log);
    fail = true;
    expect(await members.observe(lxd, 2, log)).toEqual([{ name: "m1", state: "online", groups: [] }]);
    expect(await new ClusterMembers().observe({}, 1, log)).toEqual([]);
  });
});
