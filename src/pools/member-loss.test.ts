import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { MemberLoss } from "./member-loss.js";
import type { HistoryPort, RegistrarPort } from "./ports.js";
import type { ObservedRunner } from "./types.js";

const log = pino({ level: "silent" });

function ports() {
  const events: { kind: string; level: string; message: string }[] = [];
  const results: { name: string; outcome: string; jobSeen: boolean }[] = [];
  const deleted: number[] = [];
  const history = {
    addEvent: (e: { kind: string; level: string; message: string }) => events.push(e),
    recordRunnerResult: (name: string, r: { outcome: string; jobSeen: boolean }) => results.push({ name, outcome: r.outcome, jobSeen: r.jobSeen }),
  } as unknown as HistoryPort;
  const registrar: RegistrarPort = {
    jitConfig: async () => ({ runnerId: 0, encodedJitConfig: "" }),
    deleteRegistration: async (r) => {
      deleted.push(r.runnerId);
      return "deleted";
    },
  };
  return { events, results, deleted, loss: new MemberLoss({ history, registrar, now: () => 5 }) };
}

const busy: ObservedRunner = { name: "rd-web-1", pool: "web", phase: "busy", job: "build", createdAt: 1, member: "m2", githubRunnerId: 41, connection: "gh", scope: "repo:a/b" };
const idle: ObservedRunner = { name: "rd-web-2", pool: "web", phase: "idle", createdAt: 1, member: "m2", githubRunnerId: 42, connection: "gh", scope: "repo:a/b" };

describe("member loss", () => {
  it("records each written-off runner once, its job as lost, and deletes its JIT registration", async () => {
    const p = ports();
    p.loss.note([busy, idle], log);
    p.loss.note([busy, idle], log);
    await new Promise((r) => setImmediate(r));
    expect(p.results).toEqual([
      { name: "rd-web-1", outcome: "member-lost", jobSeen: true },
      { name: "rd-web-2", outcome: "member-lost", jobSeen: false },
    ]);
    expect(p.events.map((e) => e.level)).toEqual(["error", "warn"]);
    expect(p.events[0]?.message).toContain('job "build"');
    expect(p.deleted).toEqual([41, 42]);
  });

  it("writes a runner off again after its member came back and went away once more", () => {
    const p = ports();
    p.loss.note([idle], log);
    p.loss.note([], log);
    p.loss.note([idle], log);
    expect(p.results).toHaveLength(2);
  });
});
