import { describe, expect, it } from "vitest";
import { classifyFailure, ConfigError, GitHubError, LxdError, SpawnFailed, TerminalError, UsageError, type FailureClass } from "./errors.js";

const lxd = (status: number) => new LxdError(`create instance: LXD answered ${status}`, status);
const gh = (status: number) => new GitHubError(`GitHub refused: ${status}`, status);
const transient = (source: FailureClass["source"]): FailureClass => ({ source, transient: true });
const terminal = (source: FailureClass["source"]): FailureClass => ({ source, transient: false });

describe("classifyFailure", () => {
  it.each<[string, unknown, FailureClass]>([
    ["LXD not reached (socket, timeout)", lxd(0), transient("lxd")],
    ["LXD 500", lxd(500), transient("lxd")],
    ["LXD 502 (an answer runnerd cannot read)", lxd(502), transient("lxd")],
    ["LXD 503", lxd(503), transient("lxd")],
    ["LXD 404: missing image", lxd(404), terminal("lxd")],
    ["LXD 400: failed operation (bad config, device)", lxd(400), terminal("lxd")],
    ["LXD 403", lxd(403), terminal("lxd")],
    ["LXD 409", lxd(409), terminal("lxd")],
    ["GitHub not reached", gh(0), transient("github")],
    ["GitHub 429", gh(429), transient("github")],
    ["GitHub 500", gh(500), transient("github")],
    ["GitHub 502", gh(502), transient("github")],
    ["GitHub 401", gh(401), terminal("github")],
    ["GitHub 403", gh(403), terminal("github")],
    ["GitHub 404", gh(404), terminal("github")],
    ["GitHub 422", gh(422), terminal("github")],
    ["ConfigError", new ConfigError("bad pool"), terminal("other")],
    ["UsageError", new UsageError("unknown flag"), terminal("other")],
    ["TerminalError", new TerminalError("runner.json field with a quote"), terminal("other")],
    ["unknown Error", new Error("something"), transient("other")],
    ["a thrown string", "boom", transient("other")],
    ["undefined", undefined, transient("other")],
    ["SpawnFailed around LXD 404", new SpawnFailed("x", false, { cause: lxd(404) }), terminal("lxd")],
    ["SpawnFailed around LXD 0", new SpawnFailed("x", true, { cause: lxd(0) }), transient("lxd")],
    ["SpawnFailed around GitHub 422", new SpawnFailed("x", false, { cause: gh(422) }), terminal("github")],
    ["SpawnFailed around a ConfigError", new SpawnFailed("x", false, { cause: new ConfigError("no client") }), terminal("other")],
    ["SpawnFailed without a cause", new SpawnFailed("x", false), transient("other")],
    ["two wrappers deep", new Error("outer", { cause: new Error("middle", { cause: gh(503) }) }), transient("github")],
    ["the outermost known class decides", new LxdError("outer", 500, { cause: gh(401) }), transient("lxd")],
  ])("%s", (_name, err, expected) => {
    expect(classifyFailure(err)).toEqual(expected);
  });

  it("stops at a cause cycle", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(classifyFailure(a)).toEqual(transient("other"));
  });
});
