// The configuration file's JSON Schema, generated from the zod schema's input side: what a file
// may say, keys with defaults optional, durations and sizes as written. Draft-07, the newest
// yaml-language-server (and so VS Code's YAML extension) reads. `runnerd config schema` prints it;
// `npm run schema` writes it to schema/runnerd-config.schema.json, which a test keeps current.
//
// Only the shape: rules across keys (checks.ts, the refinements) are `runnerd config check`'s.
import { z } from "zod";
import { fileInput } from "./fields.js";
import { configSchema } from "./schema.js";

/** Where the Debian package installs the schema; the example config's modeline points at it. */
export const INSTALLED_SCHEMA_PATH = "/usr/share/runnerd/runnerd-config.schema.json";

export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, {
    target: "draft-07",
    io: "input",
    unrepresentable: "throw",
    override: ({ zodSchema, jsonSchema }) => {
      tidy(jsonSchema);
      const input = fileInput.get(zodSchema);
      if (input) Object.assign(jsonSchema, input);
    },
  });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: "runnerd configuration",
    description: "runnerd's config file (/etc/runnerd/config.yaml). `runnerd config check` also checks the rules across keys.",
    ...rest,
  };
}

/** The schema as `runnerd config schema` prints it and the committed file holds it. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

/**
 * Drops what zod writes that says nothing to an editor: its own `starts_with` format (not a JSON
 * Schema format; the `pattern` beside it says the same) and an integer's safe-integer bounds.
 */
function tidy(json: z.core.JSONSchema.BaseSchema): void {
  if (json.format === "starts_with") delete json.format;
  if (json.maximum === Number.MAX_SAFE_INTEGER) delete json.maximum;
  if (json.minimum === Number.MIN_SAFE_INTEGER) delete json.minimum;
}
