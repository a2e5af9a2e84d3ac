import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formatConfigIssues, loadConfig } from "../config/index.js";
import { describeSource, imageSourceReports } from "./image-sources.js";

const text = `github:
  main:
    auth: { type: push }
pools:
  - name: web
    scope: { repo: owner/name }
    image: runnerd/default
images:
  default: {}
  old:
    packages: []
    source: images:ubuntu/24.04
  cloud:
    source: ubuntu:24.04
  local:
    source: runnerd-test/debian12
`;

const lxd502 = { backend: "lxd", version: "5.0.2" };
const incus604 = { backend: "incus", version: "6.0.4" };

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function configFile(): { file: string; config: ReturnType<typeof loadConfig> } {
  dir = mkdtempSync(join(tmpdir(), "runnerd-sources-"));
  const file = join(dir, "config.yaml");
  writeFileSync(file, text);
  return { file, config: loadConfig(file) };
}

describe("imageSourceReports", () => {
  it("on LXD 5.0.2: the default is ubuntu:24.04, and images: is refused at its line with what to use", () => {
    const { file, config } = configFile();
    const reports = imageSourceReports(config, file, lxd502);
    expect(reports.map((r) => [r.image, r.check.ok])).toEqual([["default", true], ["old", false], ["cloud", true], ["local", true]]);
    const [def, old] = reports;
    if (!def?.check.ok) throw new Error("default refused");
    expect(describeSource(def.check, lxd502)).toBe("source ubuntu:24.04 (the default on LXD 5.0.2)");
    expect(formatConfigIssues(old?.issue ? [old.issue] : [])).toMatch(
      new RegExp(`^${file}:12:13: images\\.old\\.source: LXD 5\\.0\\.2 cannot build from it: its images: remote is https://images\\.linuxcontainers\\.org there, .*; use ubuntu:24\\.04 instead$`),
    );
  });

  it("on Incus 6.0.4: the default is images:ubuntu/24.04, and ubuntu: is refused at its line", () => {
    const { file, config } = configFile();
    const reports = imageSourceReports(config, file, incus604);
    expect(reports.map((r) => [r.image, r.check.ok])).toEqual([["default", true], ["old", true], ["cloud", false], ["local", true]]);
    expect(reports[0]?.check).toMatchObject({ text: "images:ubuntu/24.04", isDefault: true });
    expect(reports[2]?.issue).toMatchObject({ file, line: 14, column: 13, path: "images.cloud.source", message: expect.stringMatching(/LXD-format images only.*; use images:ubuntu\/24\.04 instead$/) });
  });

  it("checks only the images named", () => {
    const { file, config } = configFile();
    expect(imageSourceReports(config, file, lxd502, ["cloud", "nope"]).map((r) => r.image)).toEqual(["cloud"]);
  });
});
