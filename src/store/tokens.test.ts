import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "./open.js";
import type { Store } from "./open.js";
import { makeClock, makeStateDir } from "./test-support.js";

let store: Store | undefined;
afterEach(() => store?.close());

describe("tokens", () => {
  it("round-trips a token with its expiry, update time and source", () => {
    const clock = makeClock();
    store = openStore(makeStateDir(), { now: clock.now });
    const expiresAt = new Date(clock.now().getTime() + 3_600_000);
    store.setToken("repo:owner/name", "AABBCC", expiresAt, "ssh");
    expect(store.getToken("repo:owner/name")).toEqual({
      scope: "repo:owner/name",
      token: "AABBCC",
      expiresAt,
      updatedAt: clock.now(),
      source: "ssh",
    });
    expect(store.getToken("org:other")).toBeNull();
  });

  it("replaces the token of a scope on a later push", () => {
    const clock = makeClock();
    store = openStore(makeStateDir(), { now: clock.now });
    store.setToken("org:acme", "first", new Date("2025-01-01T01:00:00Z"), "ssh");
    clock.advance(30 * 60_000);
    store.setToken("org:acme", "second", new Date("2025-01-01T01:30:00Z"), "https");
    expect(store.getToken("org:acme")).toMatchObject({
      token: "second",
      expiresAt: new Date("2025-01-01T01:30:00Z"),
      updatedAt: new Date("2025-01-01T00:30:00Z"),
      source: "https",
    });
    expect(store.listTokens()).toHaveLength(1);
  });

  it("lists tokens without their values", () => {
    store = openStore(makeStateDir(), { now: makeClock().now });
    store.setToken("repo:b/b", "secret-b", new Date("2025-01-01T01:00:00Z"), "ssh");
    store.setToken("org:a", "secret-a", new Date("2025-01-01T02:00:00Z"), "ssh");
    const listed = store.listTokens();
    expect(listed.map((t) => t.scope)).toEqual(["org:a", "repo:b/b"]);
    expect(listed[0]).toEqual({
      scope: "org:a",
      expiresAt: new Date("2025-01-01T02:00:00Z"),
      updatedAt: new Date("2025-01-01T00:00:00Z"),
      source: "ssh",
    });
    expect(JSON.stringify(listed)).not.toContain("secret");
  });

  it("deletes a token and rejects empty or undated ones", () => {
    store = openStore(makeStateDir());
    store.setToken("org:a", "t", new Date(), "ssh");
    expect(store.deleteToken("org:a")).toBe(true);
    expect(store.deleteToken("org:a")).toBe(false);
    expect(() => store?.setToken("org:a", "", new Date(), "ssh")).toThrow("must not be empty");
    expect(() => store?.setToken("org:a", "t", new Date("nope"), "ssh")).toThrow("invalid expiry date");
  });
});
