// The `github:` section: connections, their auth modes and push rules. The transforms give each
// connection its name, a URL without trailing slash, its API URL and its OIDC issuer.
import { z } from "zod";
import { absolutePath, duration, httpUrl, scopeKeyString, withNames } from "./fields.js";
import { defaultApiUrl, defaultOidcIssuer, trimSlash } from "./github-urls.js";

export const AUTH_TYPES = ["push", "app", "pat"] as const;

/** One claim value or a list of them; a rule matches when the token's claim equals one exactly. */
const claimValues = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)], { error: "must be a string or a list of strings" })
  .transform((v) => (Array.isArray(v) ? v : [v]));

/** Claims of GitHub's Actions OIDC token a rule may constrain (all given ones must match). */
export const OIDC_RULE_CLAIMS = ["repository", "repository_id", "repository_owner", "repository_owner_id", "workflow_ref", "job_workflow_ref", "ref", "event_name", "environment"] as const;

/**
 * A rule of the HTTPS token push: a caller whose verified OIDC claims match every listed claim
 * (each against one of its values, exactly) may push tokens for `scopes` (scopeKey() form).
 */
const oidcRuleSchema = z.strictObject({
  ...Object.fromEntries(OIDC_RULE_CLAIMS.map((claim) => [claim, claimValues.optional()])) as Record<(typeof OIDC_RULE_CLAIMS)[number], z.ZodOptional<typeof claimValues>>,
  scopes: z.array(scopeKeyString).min(1, { error: "list at least one scope this caller may push for" }),
});

const oidcSchema = z.strictObject({
  /** Exact `iss`; GitHub's Actions issuer for the connection's url unless set. */
  issuer: httpUrl.optional(),
  /** Exact `aud` the workflow must request. */
  audience: z.string().min(1),
  allow: z.array(oidcRuleSchema).min(1, { error: "at least one rule is required" }),
});

const sshKeyName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { error: "key names are letters, digits, '.', '_' or '-'" });

/** How runnerd gets runner credentials for one connection. */
const authSchema = z.discriminatedUnion(
  "type",
  [
    z.strictObject({
      type: z.literal("push"),
      /** HTTPS push authenticated by the workflow's OIDC token; undefined: not accepted. */
      oidc: oidcSchema.optional(),
      /** SSH forced-command key names and the scope keys each may push for. */
      ssh_keys: z.record(sshKeyName, z.array(scopeKeyString).min(1)).default({}),
      /** A scope whose last push is older than this is reported late. */
      late_after: duration(45 * 60_000),
    }),
    z.strictObject({ type: z.literal("app"), app_id: z.int().min(1), private_key_file: absolutePath }),
    z.strictObject({ type: z.literal("pat"), token_file: absolutePath }),
  ],
  {
    error: (issue) =>
      issue.code === "invalid_union"
        ? `auth type must be one of: ${AUTH_TYPES.join(", ")}`
        : undefined,
  },
);

function withIssuer(auth: z.output<typeof authSchema>, webUrl: string) {
  if (auth.type !== "push") return auth;
  const { oidc } = auth;
  return { ...auth, oidc: oidc ? { ...oidc, issuer: trimSlash(oidc.issuer ?? defaultOidcIssuer(webUrl)) } : undefined };
}

const connectionSchema = z
  .strictObject({
    /** Web URL, e.g. `https://github.com`; runners register against it. */
    url: httpUrl.default("https://github.com"),
    /** REST API base URL; derived from url unless set. */
    api_url: httpUrl.optional(),
    auth: authSchema,
    /** Secret of the `workflow_job` webhook (0600 file); webhooks are refused without one. */
    webhook_secret_file: absolutePath.optional(),
    /** While rotating the secret: the old one, still accepted until GitHub signs with the new one. */
    webhook_secret_previous_file: absolutePath.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.webhook_secret_previous_file !== undefined && c.webhook_secret_file === undefined) {
      ctx.addIssue({ code: "custom", path: ["webhook_secret_previous_file"], message: "only used with webhook_secret_file (the new secret); during a rotation both are set", params: { at: "key" } });
    }
  })
  .transform((c) => ({
    ...c,
    url: trimSlash(c.url),
    api_url: trimSlash(c.api_url ?? defaultApiUrl(c.url)),
    auth: withIssuer(c.auth, c.url),
  }));

/** Connections keyed by name; each carries its key as `name`. */
export const connectionsSchema = z
  .record(
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, { error: "connection names are letters, digits, '_' or '-'" }),
    connectionSchema,
  )
  .transform(withNames);
