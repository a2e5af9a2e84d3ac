// Leaf validators shared by the parts of the config schema.
import { z } from "zod";
import { durationPattern, formatDuration, parseDuration } from "./duration.js";
import { parseScopeKey, scopeKey } from "./scope.js";

export const absolutePath = z.string().startsWith("/", { error: "must be an absolute path" });

export const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });

/**
 * What a key accepts in the file, as JSON Schema, where zod cannot derive it (a transform from
 * `unknown`), with its default as the file would spell it; json-schema.ts puts it in the schema.
 */
export const fileInput = z.registry<z.core.JSONSchema.BaseSchema>();

const durationInput = {
  description: 'a duration: "500ms", "15s", "5m", "6h", "1d", or a number of seconds',
  anyOf: [
    { type: "string", pattern: `^\\s*${durationPattern.source.slice(1, -1)}\\s*$` },
    { type: "number", exclusiveMinimum: 0 },
  ],
} satisfies z.core.JSONSchema.BaseSchema;

/**
 * A duration key: the parsed value is milliseconds, under the file's key name. `min`/`max` (ms):
 * bounds where a value outside them would hurt (a 1 ms interval runs a loop back to back; a
 * timeout of days overflows a timer).
 */
export function duration(fallback: number, bounds: { min?: number; max?: number } = {}) {
  const schema = z
    .unknown()
    .transform((value, ctx) => {
      const ms = typeof value === "string" || typeof value === "number" ? parseDuration(value) : undefined;
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({
          code: "custom",
          input: value,
          message: `invalid duration ${JSON.stringify(value)}: use e.g. "500ms", "15s", "5m", "6h" or a number of seconds`,
        });
        return z.NEVER;
      }
      const outside = bounds.min !== undefined && ms < bounds.min ? `at least ${formatDuration(bounds.min)}` : bounds.max !== undefined && ms > bounds.max ? `at most ${formatDuration(bounds.max)}` : undefined;
      if (outside) {
        ctx.addIssue({ code: "custom", input: value, message: `must be ${outside} (got ${formatDuration(ms)})` });
        return z.NEVER;
      }
      return ms;
    })
    .default(fallback);
  fileInput.add(schema, { ...durationInput, default: formatDuration(fallback) });
  return schema;
}

// LXD takes every config value as a string; YAML's `true` or `2` mean the same thing to the
// operator, so scalars are accepted and stringified rather than rejected.
export const lxdValue = z
  .union([z.string(), z.number(), z.boolean()], { error: "must be a string (or number or boolean)" })
  .transform(String);

const sizePattern = /^\d+(\.\d+)?(B|kB|MB|GB|TB|PB|EB|KiB|MiB|GiB|TiB|PiB|EiB)?$/;
export const lxdSize = z.string().regex(sizePattern, { error: 'must be an LXD size such as "512MiB", "4GiB" or "20GB"' });
export const memory = z
  .string()
  .regex(new RegExp(`${sizePattern.source}|^([1-9]\\d?|100)%$`), { error: 'must be an LXD size such as "4GiB", or a percentage from 1% to 100% such as "50%"' });
export const cpu = z
  .union([z.int().min(1), z.string().regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, { error: 'must be a number of CPUs or a CPU set such as "0-3" or "0,2"' })], {
    error: 'must be a number of CPUs or a CPU set such as "0-3" or "0,2"',
  })
  .transform(String);

/** A scope key as the CLI writes it (`repo:owner/name`, `org:name`), normalised to scopeKey() form. */
export const scopeKeyString = z.string().transform((value, ctx) => {
  try {
    return scopeKey(parseScopeKey(value));
  } catch (err) {
    ctx.addIssue({ code: "custom", input: value, message: (err as Error).message });
    return z.NEVER;
  }
});

export type Report = (path: (string | number)[], message: string, at?: "key") => void;

/** Adds custom issues; `params.at` tells the position mapper (load.ts) to point at the key rather than its value. */
export function reporter(ctx: Pick<z.RefinementCtx, "addIssue">): Report {
  return (path, message, at) => ctx.addIssue({ code: "custom", path, message, ...(at ? { params: { at } } : {}) });
}

/** Refinement option: run even when a field already failed, so one pass reports every problem. */
export const always = { when: (payload: { value: unknown }) => typeof payload.value === "object" && payload.value !== null };

export function mapValues<T, U>(record: Record<string, T>, map: (value: T, key: string) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value, key)]));
}

/** Each entry gains its key as `name` (zod's record values do not see their keys). */
export function withNames<T extends object>(record: Record<string, T>): Record<string, { name: string } & T> {
  return mapValues(record, (value, name) => ({ name, ...value }));
}
