// What the runner side of GitHub tells a listener besides "here is a job": a self-update, a refusal
// of a deprecated version, and the faults a test arms (a session another listener holds, a message
// the listener cannot process, a configuration refresh, a job gone before it was acknowledged, a
// revoked OAuth token). Each answer follows what actions/runner's
// BrokerMessageListener and Runner.cs expect (github-runner-facts.md §3 and §6); the fake runner
// (fake-runner/bin/listener.sh) acts on them the way the real listener does.
import { requeueJob } from "./job-queue.js";
import { downloadUrl, tarballName } from "./runner-downloads.js";
import { findRelease } from "./runner-releases.js";
import { notifyChange } from "./state.js";
import type { EmulatorState, PollAnswer, PollingListener } from "./state.js";
import type { JobRecord, RunnerFaultSpec, RunnerRecord } from "./types.js";

/** What tests (and the admin API) use to steer listeners. */
export interface RunnerControl {
  /**
   * Offers release `version` (published already) to listening runners older than it that take
   * updates: every JIT runner (generate-jitconfig cannot disable updates), no runner configured
   * with `--disableupdate`. The listener downloads it, writes the new layout and exits 4 (3 when
   * not ephemeral). Null withdraws the offer.
   */
  offerRunnerUpdate(version: string | null): void;
  /** Runners older than `version` are refused messages right after they listen; null: none are. */
  setMinimumRunnerVersion(version: string | null): void;
  armRunnerFault(spec: RunnerFaultSpec): void;
  clearRunnerFaults(): void;
}

const VERSION = /^\d+\.\d+\.\d+$/;

/**
 * An error answer. busybox wget shows nothing of an error answer but its status line, so the reason
 * phrase repeats what the fake runner needs; the body is what the broker sends (BrokerError).
 */
export interface ControlReply {
  status: number;
  reason: string;
  body: Record<string, unknown>;
}

/** Orders `x.y.z` versions numerically; negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function runnerControlApi(state: EmulatorState): RunnerControl {
  return {
    offerRunnerUpdate(version) {
      if (version !== null && findRelease(state, version)?.tarball == null) throw new Error(`runner release v${version} is not published (or has no tarball)`);
      state.updateOffer = version;
      answerWaiters(state);
    },
    setMinimumRunnerVersion(version) {
      if (version !== null && !VERSION.test(version)) throw new Error(`a runner version looks like 2.330.0, not "${version}"`);
      state.minimumRunnerVersion = version;
      answerWaiters(state);
    },
    armRunnerFault(spec) {
      checkFaultSpec(spec);
      const times = spec.times ?? (spec.kind === "session-conflict" ? Number.POSITIVE_INFINITY : 1);
      state.runnerFaults.push({ spec: { ...spec }, remaining: times, runnerId: null });
      answerWaiters(state);
    },
    clearRunnerFaults() {
      state.runnerFaults = [];
    },
  };
}

function checkFaultSpec(spec: RunnerFaultSpec): void {
  if (!["session-conflict", "retryable-error", "config-refresh", "job-gone", "token-revoked"].includes(spec.kind)) throw new Error(`unknown runner fault kind "${String(spec.kind)}"`);
  if (spec.namePrefix !== undefined && typeof spec.namePrefix !== "string") throw new Error("namePrefix must be a string");
  for (const [key, value] of Object.entries({ times: spec.times, retryIntervalSeconds: spec.retryIntervalSeconds, retryLimitSeconds: spec.retryLimitSeconds })) {
    if (value !== undefined && !(typeof value === "number" && Number.isInteger(value) && value >= (key === "times" ? 1 : 0) && value <= 86_400)) {
      throw new Error(`${key} must be a whole number${key === "times" ? " from 1" : " of seconds"}`);
    }
  }
}

/** Takes one use of the first fault of `kind` that applies to `runner`, binding it to that runner. */
function takeFault(state: EmulatorState, runner: RunnerRecord, kind: RunnerFaultSpec["kind"]): RunnerFaultSpec | undefined {
  const hit = state.runnerFaults.find((f) => f.spec.kind === kind
    && (f.runnerId === null ? runner.name.startsWith(f.spec.namePrefix ?? "") : f.runnerId === runner.id));
  if (hit === undefined) return undefined;
  hit.runnerId = runner.id;
  hit.remaining -= 1;
  if (hit.remaining <= 0) state.runnerFaults = state.runnerFaults.filter((f) => f !== hit);
  return hit.spec;
}

/**
 * A session another listener holds (TaskAgentSessionConflictException): the listener retries every
 * 30 s for 4 minutes, then exits 5 (BrokerMessageListener `_sessionCreationRetryInterval`,
 * `_sessionConflictRetryLimit`). The emulator tells the fake runner the interval and limit so tests
 * need not wait 4 minutes; the real listener has them built in.
 */
export function sessionConflict(state: EmulatorState, runner: RunnerRecord, held: boolean): ControlReply | undefined {
  const fault = takeFault(state, runner, "session-conflict");
  if (fault === undefined && !held) return undefined;
  const message = "A session for this runner already exists.";
  const every = fault?.retryIntervalSeconds ?? 30;
  const limit = fault?.retryLimitSeconds ?? 240;
  return { status: 409, reason: `${message} Retry every ${every} s for ${limit} s.`, body: { message, errorKind: "SessionConflict" } };
}

/** What a message poll gets before any job: a refusal, an armed fault, or a self-update; else nothing. */
export function controlAnswer(state: EmulatorState, runner: RunnerRecord, listener: PollingListener): PollAnswer | undefined {
  const version = listener.version ?? runner.version;
  const minimum = state.minimumRunnerVersion;
  if (minimum !== null && version !== null && compareVersions(version, minimum) < 0) {
    // BrokerHttpClient.GetRunnerMessageAsync maps errorKind RunnerVersionTooOld to an
    // AccessDeniedException with ErrorCode 1, which ends the listener (Program.cs).
    const errorMessage = `Runner version v${version} is deprecated and cannot receive messages.`;
    const body = { source: "Broker", errorKind: "RunnerVersionTooOld", statusCode: 403, errorMessage };
    return { reply: { status: 403, reason: `${body.errorKind}: ${errorMessage}`, body } };
  }
  // TaskAgentAccessTokenExpiredException: RunAsync shuts the listener down with 0 (Runner.cs).
  if (takeFault(state, runner, "token-revoked") !== undefined) {
    const message = "The runner's OAuth token has been revoked.";
    return { reply: { status: 401, reason: `TaskAgentAccessTokenExpired: ${message}`, body: { message } } };
  }
  // An unhandled exception while processing a message ends the listener with 2 (Program.cs).
  if (takeFault(state, runner, "retryable-error") !== undefined) return { message: { messageType: "RunnerJobRequest", body: "not a job request" } };
  if (takeFault(state, runner, "config-refresh") !== undefined) {
    return { message: { messageType: "RunnerRefreshConfig", runnerQualifiedId: String(runner.id), configType: "runner", serviceType: "runner", configRefreshURL: "" } };
  }
  return updateMessage(state, runner, listener, version);
}

/** RunnerRefreshMessage (broker flow), flattened into the message: the listener updates itself. */
function updateMessage(state: EmulatorState, runner: RunnerRecord, listener: PollingListener, version: string | null): PollAnswer | undefined {
  const target = state.updateOffer;
  // The listener says whether it takes updates (`disableUpdate`, from its .runner settings).
  if (target === null || listener.updatesDisabled || version === null || compareVersions(version, target) >= 0) return undefined;
  const tarball = findRelease(state, target)?.tarball;
  if (tarball == null) return undefined;
  return {
    message: {
      messageType: "RunnerRefresh", runnerId: runner.id, target_version: target, os: "linux",
      download_url: downloadUrl(listener.origin, tarballName(listener.arch, target)), sha256_checksum: tarball.sha256,
    },
  };
}

/**
 * The acknowledge of a job that is gone (broker AcknowledgeJobNotFound): an ephemeral listener
 * exits 0 (Runner.cs). The job goes back to the queue, as one GitHub took away would.
 */
export function jobGone(state: EmulatorState, runner: RunnerRecord, job: JobRecord): ControlReply | undefined {
  if (job.status !== "queued" || takeFault(state, runner, "job-gone") === undefined) return undefined;
  requeueJob(state, job, runner);
  const message = `Job request ${job.id} was not found.`;
  return { status: 404, reason: `AcknowledgeJobNotFound: ${message}`, body: { errorKind: "AcknowledgeJobNotFound", errorMessage: message } };
}

/** After a change, waiting polls that now get something else get it at once. */
function answerWaiters(state: EmulatorState): void {
  for (const waiter of [...state.waiters.values()]) {
    const runner = state.runners.get(waiter.runnerId);
    if (runner === undefined) continue;
    const answer = controlAnswer(state, runner, waiter.listener);
    if (answer !== undefined) waiter.answer(answer);
  }
  notifyChange(state);
}
