// The instance config keys that mark an instance as one of runnerd's runners (never secrets).

export const keys = {
  controller: "user.runnerd.controller",
  pool: "user.runnerd.pool",
  scope: "user.runnerd.scope",
  createdAt: "user.runnerd.created-at",
  image: "user.runnerd.image",
  /** GitHub's id of a JIT runner's registration. */
  githubRunnerId: "user.runnerd.github-runner-id",
  /** The connection a JIT runner registered with. */
  connection: "user.runnerd.connection",
} as const;

export function ownershipConfig(controller: string, pool: string, scope: string, image: string, createdAt: Date): Record<string, string> {
  return {
    [keys.controller]: controller,
    [keys.pool]: pool,
    [keys.scope]: scope,
    [keys.image]: image,
    [keys.createdAt]: createdAt.toISOString(),
  };
}

/** Where the agent and its in-instance files live (see the instance contract). */
export const paths = {
  agentDir: "/opt/runnerd",
  agent: "/opt/runnerd/runner-agent.sh",
  runnerConfig: "/opt/runnerd/runner.json",
  varDir: "/var/lib/runnerd",
  status: "/var/lib/runnerd/status",
  result: "/var/lib/runnerd/result.json",
  /** agent.log, runner.log and the runner's _diag, bundled by the agent when it finishes. */
  logArchive: "/var/lib/runnerd/logs.tar.gz",
  logs: ["/var/lib/runnerd/agent.log", "/var/lib/runnerd/runner.log"],
} as const;
