// Spawn: create one runner instance from its pool's image, hand it the agent and its one-time
// configuration through the LXD file API (never config keys), and start it. A failed spawn
// removes what it made.
import { isImageFingerprint } from "../lxd/index.js";
import { describeError, LxdError, SpawnFailed } from "../errors.js";
import { keys, ownershipConfig, paths } from "./ownership.js";
import type { CreateInstanceRequest, LxdPort } from "./ports.js";
import { renderRunnerConfig } from "./runner-config.js";
import type { PoolRuntime } from "./settings.js";

/** What the runner registers with: the scope's pushed registration token, or its own JIT config. */
export type RunnerCredential = { token: string } | { jitconfig: string; githubRunnerId: number };

export interface SpawnInput {
  name: string;
  pool: PoolRuntime;
  controllerId: string;
  credential: RunnerCredential;
  agentScript: string;
  createdAt: Date;
  /** On a cluster: present, with the member or `@group` runnerd chose (absent: the server's scheduler). */
  placement?: { target?: string };
}

/**
 * A runner runs once. LXD and Incus start an instance again when they start (and when a storage
 * pool or network comes back) if `boot.autostart` is true, or if it is unset and
 * `volatile.last_state.power` says RUNNING: what an instance still running when the daemon died
 * (or whose power-off the daemon never saw) is left with. An explicit "false" is never started
 * again: `instanceShouldAutoStart` in canonical/lxd lxd/instances.go (in `instancesStart` itself
 * in lxd-5.0.2) and in lxc/incus cmd/incusd/instances.go (also its "last-state" value). Set on
 * the instance, after the operator's config, so neither that nor a profile can turn it back on.
 */
const neverRevived = { "boot.autostart": "false" } as const;

/**
 * On a cluster, evacuating a member stops its runners and leaves them there: the default ("auto")
 * would move a container on local storage to another member and start it again there, a second
 * boot of a single-use runner (`cluster.evacuate`, LXD and Incus instance options).
 */
const stayOnEvacuation = { "cluster.evacuate": "stop" } as const;

export function instanceRequest(input: SpawnInput): CreateInstanceRequest {
  const { pool } = input;
  const image = pool.image;
  const source = isImageFingerprint(image) ? { fingerprint: image } : { alias: image };
  return {
    name: input.name,
    source,
    profiles: [...pool.profiles],
    // Operator overrides first: runnerd's ownership keys must win. The runner id is no secret:
    // it lets a later pass delete the registration of a runner that died before its job.
    config: {
      ...pool.instanceConfig,
      ...ownershipConfig(input.controllerId, pool.spec.name, pool.spec.scope, image, input.createdAt),
      ...("githubRunnerId" in input.credential ? { [keys.githubRunnerId]: String(input.credential.githubRunnerId), [keys.connection]: pool.connection } : {}),
      ...neverRevived,
      ...(input.placement ? stayOnEvacuation : {}),
    },
    devices: pool.devices,
    ...(input.placement?.target !== undefined ? { target: input.placement.target } : {}),
  };
}

/** How long each step of a spawn took, in ms (logged: where does a slow spawn spend its time?). */
export interface SpawnTimings {
  createMs: number;
  filesMs: number;
  startMs: number;
}

export async function spawnRunner(lxd: LxdPort, input: SpawnInput): Promise<SpawnTimings> {
  const t0 = performance.now();
  try {
    await lxd.createInstance(instanceRequest(input));
  } catch (err) {
    // LXD removes what a failed create made. A create whose answer was lost (LXD died or stalled
    // mid-call) may have made the instance: leftover, settled from what LXD holds at the next pass.
    throw new SpawnFailed(describeError(err), answerMayBeLost(err), { cause: err });
  }
  const t1 = performance.now();
  try {
    const runnerConfig = renderRunnerConfig({
      url: input.pool.registrationUrl,
      name: input.name,
      labels: input.pool.labels,
      ...(input.pool.runnerGroup ? { runnerGroup: input.pool.runnerGroup } : {}),
      ...(input.pool.defaultLabels ? {} : { noDefaultLabels: true }),
      ...input.credential,
    });
    const pushAgent = () => lxd.pushFile(input.name, paths.agent, input.agentScript, { mode: 0o755, uid: 0, gid: 0 });
    // Base images normally have /opt/runnerd; create it only when they don't (one call fewer).
    await pushAgent().catch(async () => {
      await lxd.makeDirectory(input.name, paths.agentDir, { mode: 0o755, parents: true });
      await pushAgent();
    });
    await lxd.pushFile(input.name, paths.runnerConfig, runnerConfig, { mode: 0o600, uid: 0, gid: 0 });
    const t2 = performance.now();
    await lxd.startInstance(input.name);
    return { createMs: Math.round(t1 - t0), filesMs: Math.round(t2 - t1), startMs: Math.round(performance.now() - t2) };
  } catch (err) {
    throw await removeHalfMade(lxd, input.name, err);
  }
}

/** LXD was reached but did not answer (a reset, a deadline, an operation still running): it may have done what was asked. */
export function answerMayBeLost(err: unknown): boolean {
  if (!(err instanceof LxdError) || err.status !== 0) return false;
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return code !== "ECONNREFUSED" && code !== "ENOENT";
}

async function removeHalfMade(lxd: LxdPort, name: string, original: unknown): Promise<SpawnFailed> {
  try {
    await lxd.stopInstance(name, { force: true, timeoutSeconds: 10 }).catch(() => undefined);
    await lxd.deleteInstance(name);
    return new SpawnFailed(describeError(original), false, { cause: original });
  } catch (cleanupErr) {
    // The periodic pass finds it stopped and collects it; keep the first error as the story.
    return new SpawnFailed(`${describeError(original)} (and removing the half-made instance failed: ${describeError(cleanupErr)})`, true, { cause: original });
  }
}
