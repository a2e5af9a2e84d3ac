import { expect, it } from "vitest";
import { exampleConfig } from "./example.js";
import { parseConfig } from "./load.js";

it("the example config is valid", () => {
  const config = parseConfig(exampleConfig(), "example.yaml");
  expect(config.pools.map((pool) => pool.name)).toEqual(["web"]);
  expect(config.pools[0]?.instance.docker).toBe(true);
  expect(config.images.default).toMatchObject({ source: "images:ubuntu/24.04", runner: { version: "latest" }, auto_rebuild: false });
});
