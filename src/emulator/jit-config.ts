// The files a configured runner keeps, and the base64 bundle of them that `run.sh --jitconfig` takes.
import { randomUUID } from "node:crypto";
import type { RunnerRecord } from "./types.js";

/** Same one-line JSON the fake runner's config.sh writes, so both paths read alike. */
export function runnerFiles(runner: RunnerRecord, serverUrl: string, gitHubUrl: string, workFolder: string): Record<string, string> {
  return {
    ".runner": JSON.stringify({
      agentId: runner.id,
      agentName: runner.name,
      poolId: runner.groupId,
      poolName: runner.groupId === 1 ? "Default" : `group-${runner.groupId}`,
      serverUrl,
      gitHubUrl,
      workFolder,
      ephemeral: runner.ephemeral,
      disableUpdate: runner.disableUpdate,
    }),
    ".credentials": JSON.stringify({
      scheme: "OAuth",
      data: { clientId: randomUUID(), authorizationUrl: `${serverUrl}/_apis/oauth2/token`, requireFipsCryptography: "False" },
    }),
    ".credentials_rsaparams": JSON.stringify({ credential: runner.credential }),
  };
}

export function encodeJitConfig(runner: RunnerRecord, serverUrl: string, workFolder: string): string {
  // "GitHubUrl will be empty for jit configured runner" (actions/runner ConfigurationStore).
  const files = runnerFiles(runner, serverUrl, "", workFolder);
  const encoded = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
  return Buffer.from(JSON.stringify(encoded)).toString("base64");
}
