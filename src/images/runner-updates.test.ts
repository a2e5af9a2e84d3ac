import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { Config } from "../config/index.js";
import type { LxdClient } from "../lxd/index.js";
import { rebuildDecision, RunnerUpdateWatcher, type ImageReport } from "./runner-updates.js";

describe("rebuildDecision", () => {
  const report = (level: ImageReport["level"], runnerVersion: string | null = "2.313.0") => ({ level, runnerVersion });
  it.each<[string, Pick<ImageReport, "level" | "runnerVersion">, boolean, { version: string | null } | undefined, ReturnType<typeof rebuildDecision>]>([
    ["current, nothing asked", report("current"), false, undefined, "keep"],
    ["behind: the periodic rule", report("behind"), false, undefined, "rebuild"],
    ["missing", report("missing", null), false, undefined, "rebuild"],
    ["expired", report("expired"), false, undefined, "rebuild"],
    ["refused as deprecated while the releases say current (or cannot be read)", report("unknown"), true, undefined, "rebuild"],
    ["refused again, for the version a rebuild was made for already", report("current"), true, { version: "2.313.0" }, "already-forced"],
    ["refused again, for a newer version than the last forced rebuild", report("current", "2.314.0"), true, { version: "2.313.0" }, "rebuild"],
    ["behind and already forced: the periodic rule still applies", report("behind"), true, { version: "2.313.0" }, "rebuild"],
  ])("%s", (_name, r, forced, last, expected) => {
    expect(rebuildDecision(r, forced, last)).toBe(expected);
  });
});

describe("RunnerUpdateWatcher out of turn", () => {
  const watcher = (images: Record<string, { auto_rebuild: boolean }>, now: { t: number }) => {
    let reports = 0;
    const w = new RunnerUpdateWatcher({
      lxd: {} as LxdClient,
      logger: pino({ level: "silent" }),
      // No image is checked when none is configured; `images` here only answers auto_rebuild.
      config: () => ({ images, runner_check_interval: 86_400_000 }) as unknown as Config,
      now: () => now.t,
      addEvent: () => undefined,
      onReport: () => void reports++,
    });
    return { w, reports: () => reports };
  };

  it("ignores a rebuild request for an image without auto_rebuild", async () => {
    const now = { t: 0 };
    const { w, reports } = watcher({ default: { auto_rebuild: false } }, now);
    await w.rebuildNow("default", "refused");
    await w.rebuildNow("unknown", "refused");
    expect(reports()).toBe(0);
  });

  it("checks soon at most every 15 minutes, however many runners report a self-update", async () => {
    const now = { t: 1_000_000 };
    const { w, reports } = watcher({}, now);
    await w.checkSoon("default", "updated itself");
    await w.checkSoon("default", "updated itself");
    expect(reports()).toBe(1);
    now.t += 15 * 60_000;
    await w.checkSoon("default", "updated itself");
    expect(reports()).toBe(2);
  });
});
