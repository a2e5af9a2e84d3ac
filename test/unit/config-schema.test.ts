// The configuration's JSON Schema (`runnerd config schema`, issue 15 item 3): the committed
// schema/runnerd-config.schema.json is what the zod schema generates, a draft-07 validator accepts
// the example config and the files the tests use, refuses what `config check` refuses for its
// shape, and the example's modeline points where the Debian package installs the file.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { INSTALLED_SCHEMA_PATH, configJsonSchema, configJsonSchemaText, exampleConfig, parseConfig } from "../../src/config/index.js";

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const root = join(import.meta.dirname, "..", "..");
const committedPath = join(root, "schema", "runnerd-config.schema.json");

// Strict, but `type: [string, number, boolean]` (an LXD config value) is plain draft-07.
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats(ajv);
const validate = ajv.compile(configJsonSchema());
const errorsOf = (data: unknown) => (validate(data) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""}`));

const minimal = { github: { main: { auth: { type: "push" } } }, pools: [{ name: "web", scope: { repo: "acme/web" }, image: "x" }] };
const withPool = (pool: Record<string, unknown>) => ({ ...minimal, pools: [{ ...minimal.pools[0], ...pool }] });

describe("the configuration's JSON Schema", () => {
  it("is committed as generated (run `npm run schema` after changing the zod schema)", () => {
    expect(readFileSync(committedPath, "utf8")).toBe(configJsonSchemaText());
  });

  it("is draft-07 (what yaml-language-server reads) and describes the file's top-level keys", () => {
    const schema = configJsonSchema();
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(ajv.validateSchema(schema)).toBe(true);
    // Keys with defaults are optional; only github and pools must be written.
    expect(schema.required).toEqual(["github", "pools"]);
    expect(schema.additionalProperties).toBe(false);
    const parsed = parseConfig(exampleConfig(), "example.yaml");
    expect(Object.keys(schema.properties as object).sort()).toEqual(Object.keys(parsed).sort());
  });

  it("accepts the example config, whose first line points at the installed schema", () => {
    const text = exampleConfig();
    expect(errorsOf(parse(text))).toEqual([]);
    const modeline = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
    expect(modeline?.[1]).toBeDefined();
    // The example is written to /etc/runnerd/config.yaml; the package installs the schema there.
    expect(resolve("/etc/runnerd", modeline?.[1] ?? "")).toBe(INSTALLED_SCHEMA_PATH);
    expect(readFileSync(join(root, "scripts", "build-deb.sh"), "utf8")).toContain(INSTALLED_SCHEMA_PATH.replace(/^\//, ""));
  });

  it("takes values as the file writes them: durations, sizes, CPU sets, LXD scalars, trust_proxy", () => {
    const file = {
      ...withPool({ instance: { cpu: "0-3", memory: "50%", disk: "20GiB", config: { "limits.cpu.allowance": 50, "security.nesting": true } } }),
      resync_interval: "15s",
      boot_timeout: 300,
      job_timeout: "1.5h",
      http: { trust_proxy: ["127.0.0.1", "::1"] },
    };
    expect(errorsOf(file)).toEqual([]);
    expect(() => parseConfig(JSON.stringify(file), "x.yaml")).not.toThrow();
    expect(errorsOf({ ...minimal, http: { trust_proxy: 2 } })).toEqual([]);
  });

  it("refuses what the zod schema refuses for its shape", () => {
    const bad: [string, unknown][] = [
      ["no pools", { github: minimal.github }],
      ["an unknown key", { ...minimal, max_runnerz: 3 }],
      ["a duration in words", { ...minimal, boot_timeout: "5 minutes" }],
      ["a zero duration", { ...minimal, boot_timeout: 0 }],
      ["an unknown auth type", { ...minimal, github: { main: { auth: { type: "password" } } } }],
      ["a bad pool name", withPool({ name: "Web_Pool" })],
      ["a size LXD does not read", withPool({ instance: { disk: "20 gigs" } })],
      ["a relative state_dir", { ...minimal, state_dir: "var/lib/runnerd" }],
      ["an empty trust_proxy list", { ...minimal, http: { trust_proxy: [] } }],
    ];
    for (const [what, file] of bad) {
      expect(errorsOf(file), what).not.toEqual([]);
      expect(() => parseConfig(JSON.stringify(file), "x.yaml"), what).toThrow();
    }
  });
});
