import { describe, expect, it } from "vitest";
import { staleRegistrations } from "./registration-sweep.js";
import type { RegisteredRunner } from "./connection-client.js";

const mine = ["self-hosted", "runnerd-ctl"];
function reg(name: string, over: Partial<RegisteredRunner> = {}): RegisteredRunner {
  return { id: name.length, name, status: "offline", busy: false, labels: mine, ...over };
}
const input = { namePrefixes: ["rd-web"], controllerLabel: "runnerd-ctl", liveNames: new Set(["rd-web-live0000"]) };

describe("staleRegistrations", () => {
  it("picks offline, idle registrations of this controller's pools that have no instance", () => {
    const stale = reg("rd-web-gone0000");
    expect(staleRegistrations([stale], input)).toEqual([stale]);
  });

  it("leaves alone what is alive, busy, online, foreign or named otherwise", () => {
    const keep = [
      reg("rd-web-live0000"), // its instance exists (or is being created)
      reg("rd-web-busy0000", { busy: true }),
      reg("rd-web-onli0000", { status: "online" }),
      reg("rd-web-frgn0000", { labels: ["self-hosted"] }), // no controller label: another controller's
      reg("rd-web-toolong00"), // suffix of the wrong length
      reg("rd-webx-abcd0000"), // another pool whose name merely starts alike
      reg("laptop"),
    ];
    expect(staleRegistrations(keep, input)).toEqual([]);
  });

  it("matches the controller label case-insensitively, as GitHub does", () => {
    expect(staleRegistrations([reg("rd-web-gone0000", { labels: ["RUNNERD-CTL"] })], input)).toHaveLength(1);
  });
});
