import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import { formatConfigIssues } from "./format-issues.js";
import { parseConfig, parseConfigWithWarnings } from "./load.js";

/** A one-pool file whose `runners:` line is `runners` (line 6). */
function withRunners(runners: string): string {
  return `github: { main: { auth: { type: push } } }
pools:
  - name: web
    scope: { repo: o/r }
    image: x
    runners: ${runners}
`;
}

function placed(text: string): string[] {
  try {
    parseConfig(text, "runnerd.yaml");
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("a pool's floor and ceiling", () => {
  it("defaults the floor to 1 and the ceiling to the floor", () => {
    expect(parseConfig(withRunners("{}"), "runnerd.yaml").pools[0]?.runners).toEqual({ floor: 1, ceiling: 1, idle_timeout: 300_000 });
    expect(parseConfig(withRunners("{ floor: 3 }"), "runnerd.yaml").pools[0]?.runners).toEqual({ floor: 3, ceiling: 3, idle_timeout: 300_000 });
    expect(parseConfig(withRunners("{ ceiling: 4, idle_timeout: 1s }"), "runnerd.yaml").pools[0]?.runners).toEqual({ floor: 1, ceiling: 4, idle_timeout: 1000 });
  });

  it("takes floor and ceiling without warnings", () => {
    const { config, warnings } = parseConfigWithWarnings(withRunners("{ floor: 0, ceiling: 6 }"), "runnerd.yaml");
    expect(config.pools[0]?.runners).toMatchObject({ floor: 0, ceiling: 6 });
    expect(warnings).toEqual([]);
  });

  it("refuses a ceiling below the floor, at the ceiling", () => {
    expect(placed(withRunners("{ floor: 3, ceiling: 2 }"))).toEqual(["6:35 pools[0].runners.ceiling: must be at least the floor (3)"]);
    expect(placed(withRunners("{ ceiling: 0 }"))).toEqual(["6:25 pools[0].runners.ceiling: must be at least the floor (1)"]);
  });

  it("refuses a negative floor", () => {
    expect(placed(withRunners("{ floor: -1 }"))).toEqual(["6:23 pools[0].runners.floor: Too small: expected number to be >=0"]);
  });
});

describe("the deprecated names idle and max", () => {
  it("still work, each with a warning at its key", () => {
    const { config, warnings } = parseConfigWithWarnings(withRunners("{ idle: 2, max: 5 }"), "runnerd.yaml");
    expect(config.pools[0]?.runners).toEqual({ floor: 2, ceiling: 5, idle_timeout: 300_000 });
    expect(formatConfigIssues(warnings)).toBe(
      "runnerd.yaml:6:16: pools[0].runners.idle: deprecated: use runners.floor\n" +
        "runnerd.yaml:6:25: pools[0].runners.max: deprecated: use runners.ceiling",
    );
  });

  it("mix with the new names, and default the ceiling to the floor", () => {
    expect(parseConfig(withRunners("{ idle: 2, ceiling: 4 }"), "runnerd.yaml").pools[0]?.runners).toMatchObject({ floor: 2, ceiling: 4 });
    expect(parseConfig(withRunners("{ idle: 2 }"), "runnerd.yaml").pools[0]?.runners).toMatchObject({ floor: 2, ceiling: 2 });
  });

  it("are refused beside their new names, at the old key", () => {
    expect(placed(withRunners("{ idle: 1, floor: 2, max: 3, ceiling: 4 }"))).toEqual([
      "6:16 pools[0].runners.idle: give floor or its deprecated name idle, not both",
      "6:35 pools[0].runners.max: give ceiling or its deprecated name max, not both",
    ]);
  });

  it("are checked like the new names", () => {
    expect(placed(withRunners("{ idle: 3, max: 2 }"))).toEqual(["6:30 pools[0].runners.max: must be at least the floor (3)"]);
    expect(placed(withRunners("{ idle: -1 }"))).toEqual(["6:22 pools[0].runners.idle: Too small: expected number to be >=0"]);
  });

  it("are reported for every pool using them", () => {
    const text = `${withRunners("{ floor: 1 }")}  - name: api
    scope: { repo: o/api }
    image: x
    runners:
      idle: 0
`;
    const { warnings } = parseConfigWithWarnings(text, "runnerd.yaml");
    expect(warnings).toEqual([{ file: "runnerd.yaml", line: 11, column: 7, path: "pools[1].runners.idle", message: "deprecated: use runners.floor" }]);
  });
});
