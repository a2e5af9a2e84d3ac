import { expect, it } from "vitest";
import { exampleConfig } from "./example.js";
import { parseConfig } from "./load.js";

it("the example config is valid", () => {
  const config = parseConfig(exampleConfig(), "example.yaml");
  expect(config.pools.map((pool) => pool.name)).toEqual(["web"]);
  expect(config.pools[0]?.instance.config).toEqual({ "security.nesting": "true" });
});
