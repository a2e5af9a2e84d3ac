// What `runnerd init` needs to know: the answers to its questions, as asked on a terminal or read
// from a preseed file (`--preseed FILE`, same shape). Only the questions live here; the
// configuration they become is checked by the config's own schema (to-config.ts).
import { z } from "zod";
import { parseScopeKey, type ScopeRef } from "../../config/index.js";

const absolutePath = z.string().startsWith("/", { error: "must be an absolute path" });
const name = (what: string) => z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, { error: `${what} names are lower-case letters, digits or '-'` });

/** `repo:owner/name`, `owner/name` or `org:name`, as `runnerd workflow print --scope` takes them. */
const scopeText = z.string().transform((text, ctx): ScopeRef => {
  try {
    return parseScopeKey(text);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

const lxdAnswers = z.strictObject({
  /** Unix socket; unset: the one runnerd detects (LXD's first, then Incus's). */
  socket: absolutePath.optional(),
  /** Storage pool for runners' root disks; unset: the only btrfs or zfs pool there is. */
  storage_pool: z.string().min(1).optional(),
  /** Create `storage_pool` when it does not exist (only when asked: it takes disk space). */
  create_storage_pool: z.strictObject({ driver: z.enum(["btrfs", "zfs", "dir", "lvm"]).default("btrfs"), size: z.string().regex(/^\d+(\.\d+)?\s*[KMGTP]i?B$/, { error: 'a size such as "100GiB"' }).optional() }).optional(),
  project: z.string().min(1).optional(),
});

const oidcAnswers = z.strictObject({
  /** runnerd's public URL, the audience the workflow requests. */
  audience: z.string().min(1),
  /** Where the renewal workflows live (owner/name); unset: each scope's own repository. */
  repository: z.string().optional(),
  ref: z.string().min(1).default("refs/heads/main"),
});

const githubAnswers = z
  .strictObject({
    /** The connection's name in the config. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, { error: "connection names are letters, digits, '_' or '-'" }).default("main"),
    url: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).default("https://github.com"),
    auth: z.enum(["push", "app", "pat"], { error: "must be push, app or pat" }),
    /** push over SSH: the key name the forced command uses; it may push for every pool's scope. */
    ssh_key: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { error: "key names are letters, digits, '.', '_' or '-'" }).optional(),
    /** push over HTTPS, proven by the workflow's OIDC token. */
    oidc: oidcAnswers.optional(),
    /** pat: the file runnerd reads (written when `token` or `token_env` is given). */
    token_file: absolutePath.optional(),
    token: z.string().optional(),
    token_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "an environment variable name" }).optional(),
    app_id: z.int().min(1).optional(),
    /** app: the file runnerd reads. */
    private_key_file: absolutePath.optional(),
    /** app: a key file to copy to `private_key_file` (e.g. the one GitHub downloaded). */
    private_key_from: absolutePath.optional(),
    /** `generate` (a random secret), or the secret itself; written to `webhook_secret_file`. */
    webhook_secret: z.string().min(1).optional(),
    webhook_secret_file: absolutePath.optional(),
  })
  .superRefine((g, ctx) => {
    const need = (key: string, when: string) => ctx.addIssue({ code: "custom", path: [key], message: `required with auth: ${when}` });
    const refuse = (key: string) => ctx.addIssue({ code: "custom", path: [key], message: `not used with auth: ${g.auth}`, params: { at: "key" } });
    const present = (key: keyof typeof g) => g[key] !== undefined;
    if (g.auth === "app" && !present("app_id")) need("app_id", "app");
    if (g.auth === "push" && !present("ssh_key") && !present("oidc")) ctx.addIssue({ code: "custom", path: ["auth"], message: "push needs a way in: ssh_key (SSH forced command), oidc (HTTPS), or both" });
    const only: Record<string, readonly (keyof typeof g)[]> = { push: ["ssh_key", "oidc"], pat: ["token_file", "token", "token_env"], app: ["app_id", "private_key_file", "private_key_from"] };
    for (const [mode, keys] of Object.entries(only)) if (mode !== g.auth) for (const key of keys) if (present(key)) refuse(key);
    if (g.token !== undefined && g.token_env !== undefined) ctx.addIssue({ code: "custom", path: ["token_env"], message: "give token or token_env, not both", params: { at: "key" } });
  });

const poolAnswers = z.strictObject({
  name: name("pool").refine((n) => n.length <= 20, { error: "at most 20 characters" }),
  scope: scopeText,
  runner_group: z.string().min(1).optional(),
  labels: z.array(z.string()).default([]),
  floor: z.int().min(0).default(1),
  ceiling: z.int().min(0).optional(),
  /** Unset: `runnerd/<image.name>`, built by `runnerd image build`. */
  image: z.string().min(1).optional(),
  // Passed to the pool's config as written (checked there): for what init does not ask.
  name_prefix: z.string().optional(),
  priority: z.int().optional(),
  default_labels: z.boolean().optional(),
  instance: z.record(z.string(), z.unknown()).optional(),
});

/** Config keys init does not ask about, passed through; the sections init writes are refused. */
const settingsAnswers = z.record(z.string(), z.unknown()).superRefine((settings, ctx) => {
  for (const key of ["github", "pools", "images", "lxd"]) {
    if (key in settings) ctx.addIssue({ code: "custom", path: [key], message: `init writes ${key} from its own keys (lxd:, github:, pools:, image:); set it there`, params: { at: "key" } });
  }
});

export const answersSchema = z
  .strictObject({
    lxd: lxdAnswers.prefault({}),
    github: githubAnswers,
    pools: z.array(poolAnswers).min(1, { error: "at least one pool is required" }),
    image: z
      .strictObject({
        name: name("image").default("default"),
        /** The builder's source; unset: one the backend can use (ubuntu:24.04 on LXD, images:ubuntu/24.04 on Incus). */
        source: z.string().min(1).optional(),
        /** Build it once the config is written (1-3 minutes). */
        build: z.boolean().default(false),
      })
      .prefault({}),
    settings: settingsAnswers.default({}),
    /** Run `runnerd doctor` at the end. */
    doctor: z.boolean().default(true),
  })
  .superRefine((answers, ctx) => {
    // An organisation has no repository of its own for its renewal workflow to live in.
    const org = answers.pools.find((p) => p.scope.type === "org");
    if (answers.github.oidc && answers.github.oidc.repository === undefined && org) {
      ctx.addIssue({ code: "custom", path: ["github", "oidc"], message: `repository: required with the organisation scope org:${org.scope.type === "org" ? org.scope.org : ""}: the repository (owner/name) holding the renewal workflows` });
    }
  });

export type Answers = z.output<typeof answersSchema>;
export type AnswersInput = z.input<typeof answersSchema>;
export type PoolAnswers = Answers["pools"][number];
export type GitHubAnswers = Answers["github"];
