import { expect, it } from "vitest";
import { exampleConfig } from "./example.js";
import { parseConfigWithWarnings } from "./load.js";

it("the example config is valid, without warnings", () => {
  const { config, warnings } = parseConfigWithWarnings(exampleConfig(), "example.yaml");
  expect(warnings).toEqual([]);
  expect(config.pools.map((pool) => pool.name)).toEqual(["web"]);
  expect(config.pools[0]?.runners).toEqual({ floor: 2, ceiling: 4, idle_timeout: 300_000 });
  expect(config.pools[0]?.instance.docker).toBe(true);
  expect(config.images.default).toMatchObject({ runner: { version: "latest" }, auto_rebuild: false });
  // No source: the builder takes the one the backend can use (ubuntu:24.04 on LXD, images:ubuntu/24.04 on Incus).
  expect(config.images.default?.source).toBeUndefined();
});
