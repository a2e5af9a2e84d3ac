import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { acquireBuildLock } from "./build-lock.js";

const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), "runnerd-lock-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("acquireBuildLock", () => {
  it("refuses a second build of the same image while the holder lives, and frees on release", () => {
    const d = dir();
    writeFileSync(join(d, "image-build-default.lock"), String(process.ppid));
    expect(() => acquireBuildLock(d, "default")).toThrow(/another build of image default is running \(pid \d+\)/);
    const release = acquireBuildLock(d, "other");
    release();
    acquireBuildLock(d, "other")();
  });

  it("takes over a lock whose process is gone", () => {
    const d = dir();
    writeFileSync(join(d, "image-build-default.lock"), "999999999");
    const release = acquireBuildLock(d, "default");
    release();
  });
});
