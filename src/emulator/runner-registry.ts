// Runner registrations: create, replace, delete, and the REST `runner` view of one.
import { HttpError } from "./http-io.js";
import { sameScope } from "./scope.js";
import { notifyChange, randomToken, runnerGroupsOf } from "./state.js";
import type { EmulatorState } from "./state.js";
import type { RunnerLabel, RunnerRecord, RunnerStatus, Scope } from "./types.js";

// The labels GitHub applies itself; everything else a runner carries is "custom".
const READ_ONLY_LABELS = new Set(["self-hosted", "linux", "windows", "macos", "x64", "arm64", "arm"]);

export interface RegisterInput {
  scope: Scope;
  name: string;
  labels: readonly string[];
  ephemeral: boolean;
  disableUpdate: boolean;
  replace: boolean;
  groupId?: number;
  groupName?: string;
  jit?: boolean;
}

export function registerRunner(state: EmulatorState, input: RegisterInput): RunnerRecord {
  const groupId = resolveGroup(state, input.scope, input.groupId, input.groupName);
  const existing = findRunnerByName(state, input.scope, input.name);
  if (existing !== undefined) {
    if (!input.replace) throw new HttpError(409, "A runner exists with the same name");
    deleteRunner(state, existing.id);
  }
  const runner: RunnerRecord = {
    id: state.nextRunnerId++,
    name: input.name,
    scope: input.scope,
    labels: uniqueLabels(input.labels).map((name) => toLabel(state, name)),
    ephemeral: input.ephemeral,
    disableUpdate: input.disableUpdate,
    groupId,
    credential: randomToken("rcred_", 24),
    os: input.jit === true ? "unknown" : "Linux",
    version: null,
    busy: false,
    jit: input.jit === true,
    registeredAt: state.now(),
    listeningAt: null,
    lastPollAt: null,
    session: null,
    sessions: 0,
    deletedAt: null,
    jobIds: [],
  };
  state.runners.set(runner.id, runner);
  notifyChange(state);
  return runner;
}

function resolveGroup(state: EmulatorState, scope: Scope, groupId?: number, groupName?: string): number {
  if ("repo" in scope) {
    // Repositories have no runner groups; only the implicit default is acceptable.
    const isDefault = (groupId === undefined || groupId === 1)
      && (groupName === undefined || groupName === "" || groupName.toLowerCase() === "default");
    if (!isDefault) throw new HttpError(404, "Runner groups are only available for organizations");
    return 1;
  }
  const groups = runnerGroupsOf(state, scope.org);
  if (groupId !== undefined) {
    if (!groups.some((g) => g.id === groupId)) throw new HttpError(404, `Runner group ${groupId} not found`);
    return groupId;
  }
  if (groupName === undefined || groupName === "") return 1;
  const group = groups.find((g) => g.name.toLowerCase() === groupName.toLowerCase());
  if (group === undefined) throw new HttpError(404, `Could not find any self-hosted runner group named "${groupName}".`);
  return group.id;
}

function uniqueLabels(labels: readonly string[]): string[] {
  const seen = new Set<string>();
  return labels.filter((l) => {
    const key = l.toLowerCase();
    if (l === "" || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function toLabel(state: EmulatorState, name: string): RunnerLabel {
  const key = name.toLowerCase();
  let id = state.labelIds.get(key);
  if (id === undefined) {
    id = state.labelIds.size + 1;
    state.labelIds.set(key, id);
  }
  return { id, name, type: READ_ONLY_LABELS.has(key) ? "read-only" : "custom" };
}

export function findRunnerByName(state: EmulatorState, scope: Scope, name: string): RunnerRecord | undefined {
  for (const runner of state.runners.values()) {
    if (runner.deletedAt === null && sameScope(runner.scope, scope) && runner.name.toLowerCase() === name.toLowerCase()) {
      return runner;
    }
  }
  return undefined;
}

export function liveRunner(state: EmulatorState, scope: Scope, id: number): RunnerRecord {
  const runner = state.runners.get(id);
  if (runner === undefined || runner.deletedAt !== null || !sameScope(runner.scope, scope)) {
    throw new HttpError(404, "Not Found");
  }
  return runner;
}

export function findRunnerByCredential(state: EmulatorState, credential: string | null): RunnerRecord | undefined {
  if (credential === null) return undefined;
  for (const runner of state.runners.values()) if (runner.credential === credential) return runner;
  return undefined;
}

/** Marks a registration deleted and tells its open long poll, as GitHub's RunnerNotFound does. */
export function deleteRunner(state: EmulatorState, id: number): void {
  const runner = state.runners.get(id);
  if (runner === undefined || runner.deletedAt !== null) return;
  runner.deletedAt = state.now();
  runner.busy = false;
  const waiter = state.waiters.get(id);
  if (waiter !== undefined) {
    state.waiters.delete(id);
    waiter.answer("gone");
  }
  notifyChange(state);
}

export function runnerStatus(state: EmulatorState, runner: RunnerRecord): RunnerStatus {
  if (runner.deletedAt !== null) return "offline";
  if (state.waiters.has(runner.id) || runner.busy) return "online";
  // Between two long polls the runner still counts as connected, as on GitHub.
  const seen = runner.lastPollAt ?? runner.listeningAt;
  return seen !== null && state.now() - seen < state.longPollMs + 15_000 ? "online" : "offline";
}

/** The REST `runner` object (components/schemas/runner). */
export function toApiRunner(state: EmulatorState, runner: RunnerRecord): Record<string, unknown> {
  return {
    id: runner.id,
    name: runner.name,
    os: runner.os,
    status: runnerStatus(state, runner),
    busy: runner.busy,
    ephemeral: runner.ephemeral,
    runner_group_id: runner.groupId,
    version: runner.version,
    labels: runner.labels.map((l) => ({ ...l })),
  };
}

export function snapshotRunner(runner: RunnerRecord): RunnerRecord {
  return { ...runner, scope: { ...runner.scope }, labels: runner.labels.map((l) => ({ ...l })), jobIds: [...runner.jobIds] };
}
