// One entry of `pools:`. The transforms resolve the scope to a tagged union and the runner bounds
// to `floor` and `ceiling`, accepting their old names `idle` and `max`.
import { z } from "zod";
import { always, cpu, duration, lxdSize, lxdValue, memory, reporter } from "./fields.js";
import { OWNER_PATTERN, REPO_PATTERN } from "./scope.js";

/** Where a pool's runners register. Names are as written in the file (GitHub matches them case-insensitively). */
const scopeSchema = z
  .strictObject({
    repo: z.string().regex(REPO_PATTERN, { error: 'must be "owner/name"' }).optional(),
    org: z.string().regex(OWNER_PATTERN, { error: "must be a GitHub organisation name" }).optional(),
    runner_group: z.string().min(1).optional(),
  })
  .superRefine((scope, ctx) => {
    const report = reporter(ctx);
    if ((scope.repo === undefined) === (scope.org === undefined)) report([], "give exactly one of repo or org");
    else if (scope.runner_group !== undefined && scope.repo !== undefined) report(["runner_group"], "runner_group is only valid with org", "key");
  }, always)
  // The refinement above guarantees exactly one of repo and org.
  .transform((scope) =>
    scope.repo !== undefined
      ? { type: "repo" as const, repo: scope.repo }
      : { type: "org" as const, org: scope.org ?? "", runner_group: scope.runner_group ?? "Default" },
  );

/** Old names of runner keys, still accepted: using one is a warning, giving both names an error. */
export const DEPRECATED_RUNNER_KEYS = { idle: "floor", max: "ceiling" } as const;

const count = z.int().min(0);

const runnersSchema = z
  .strictObject({
    /** Runners kept available (creating, starting or idle); 1 unless set. */
    floor: count.optional(),
    /** Runners of this pool at most, busy ones included; the floor unless set. */
    ceiling: count.optional(),
    idle: count.optional(),
    max: count.optional(),
    /** Runners above the floor that stay idle this long are removed. */
    idle_timeout: duration(5 * 60_000),
  })
  .superRefine((runners, ctx) => {
    const report = reporter(ctx);
    const given: Record<string, unknown> = runners;
    for (const [alias, key] of Object.entries(DEPRECATED_RUNNER_KEYS)) {
      if (given[alias] !== undefined && given[key] !== undefined) report([alias], `give ${key} or its deprecated name ${alias}, not both`, "key");
    }
    const floor = runners.floor ?? runners.idle ?? 1;
    const ceilingKey = runners.ceiling !== undefined ? "ceiling" : "max";
    const ceiling = runners[ceilingKey];
    if (typeof floor === "number" && typeof ceiling === "number" && ceiling < floor) {
      report([ceilingKey], `must be at least the floor (${floor})`);
    }
  }, always)
  .transform(({ idle_timeout, ...r }) => {
    const floor = r.floor ?? r.idle ?? 1;
    return { floor, ceiling: r.ceiling ?? r.max ?? floor, idle_timeout };
  });

const label = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "labels are 1-64 letters, digits, '.', '_' or '-'" });

const instanceSchema = z.strictObject({
  profiles: z.array(z.string().min(1)).default(["default"]),
  /** Docker-ready LXD settings (nesting, mknod and setxattr interception); on by default. */
  docker: z.boolean().default(true),
  /** `security.idmap.isolated`: a uid/gid range of its own per instance. */
  idmap_isolated: z.boolean().default(false),
  // Runner limits: each unset one is derived from the host (pools/runner-limits.ts); a key of the
  // same name in `config` (or `devices.root.size`) still wins.
  /** `limits.cpu` value (a count or a CPU set); every host CPU unless set. */
  cpu: cpu.optional(),
  /** `limits.memory` value (LXD size string or percentage); a share of the host's memory unless set. */
  memory: memory.optional(),
  /** `limits.processes` value; 10000 unless set. */
  processes: z.int().min(1).optional(),
  /** Root disk size (LXD size string); 20GiB unless set. */
  disk: lxdSize.optional(),
  /** Raw LXD config overrides; `user.runnerd.*` keys are refused (checks.ts). */
  config: z.record(z.string(), lxdValue).default({}),
  devices: z.record(z.string(), z.record(z.string(), lxdValue)).default({}),
});

/** A cluster member's name, or `@` and a cluster group's name (LXD's and Incus's `target=`). */
const memberTarget = z.string().regex(/^@?[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { error: 'must be a cluster member\'s name or "@" and a cluster group\'s name' });

const placementSchema = z.strictObject({
  /** Runners are placed on this member or `@group` only; the server's scheduler chooses among all members unless set. */
  target: memberTarget.optional(),
  /** Each new runner goes to the member holding the fewest of this pool's runners, so one member's failure never takes the whole pool. */
  spread: z.boolean().default(false),
});

export const poolSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,19}$/, {
    error: "must be 1-20 lower-case letters, digits or '-', not starting with '-'",
  }),
  /** Name of an entry of `github:`; the first one unless set (schema.ts). */
  connection: z.string().optional(),
  scope: scopeSchema,
  /** Extra labels, in file order (GitHub adds `self-hosted`, OS and architecture itself). */
  labels: z.array(label).default([]),
  runners: runnersSchema.prefault({}),
  /** When several pools fit a job's labels, the highest priority wins, then the most free capacity. */
  priority: z.int().default(0),
  /** `self-hosted`, `linux` and the architecture count as the pool's labels for matching jobs. */
  default_labels: z.boolean().default(true),
  /** LXD image alias or fingerprint runners are cloned from. */
  image: z.string().min(1),
  /** Runner names are `<name_prefix>-<pool>-<random>` (see RUNNER_NAME_SUFFIX_LENGTH). */
  name_prefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,39}$/, { error: "must be 1-40 lower-case letters, digits or '-', starting with a letter" })
    .default("rd"),
  instance: instanceSchema.prefault({}),
  /** On an LXD or Incus cluster: where the pool's runners go. Ignored on a single server. */
  placement: placementSchema.prefault({}),
});
