import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeFileAtomic } from "./files.js";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "runnerd-init-files-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("writeFileAtomic", () => {
  it("creates the file with exactly its mode, whatever the umask, and leaves no temporary file", () => {
    const old = process.umask(0o000);
    try {
      writeFileAtomic(join(dir, "secret"), "s\n", { mode: 0o600, replace: false, field: "f" });
    } finally {
      process.umask(old);
    }
    expect((statSync(join(dir, "secret")).mode & 0o777).toString(8)).toBe("600");
    expect(readdirSync(dir)).toEqual(["secret"]);
  });

  it("refuses an existing file unless told to replace it", () => {
    writeFileSync(join(dir, "config.yaml"), "mine\n");
    expect(() => writeFileAtomic(join(dir, "config.yaml"), "new\n", { mode: 0o640, replace: false, field: "--config" })).toThrow(`--config: ${join(dir, "config.yaml")} exists; runnerd init replaces it only with --force`);
    expect(readFileSync(join(dir, "config.yaml"), "utf8")).toBe("mine\n");
    writeFileAtomic(join(dir, "config.yaml"), "new\n", { mode: 0o640, replace: true, field: "--config" });
    expect(readFileSync(join(dir, "config.yaml"), "utf8")).toBe("new\n");
    expect((statSync(join(dir, "config.yaml")).mode & 0o777).toString(8)).toBe("640");
  });

  it("keeps the old state when the check of the new content fails", () => {
    expect(() => writeFileAtomic(join(dir, "a"), "x", { mode: 0o600, replace: false, field: "f", check: () => { throw new Error("bad content"); } })).toThrow("bad content");
    expect(existsSync(join(dir, "a"))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("creates the directory it writes into", () => {
    writeFileAtomic(join(dir, "etc", "runnerd", "config.yaml"), "x", { mode: 0o640, replace: false, field: "--config" });
    expect(readFileSync(join(dir, "etc", "runnerd", "config.yaml"), "utf8")).toBe("x");
  });
});
