import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "./open.js";
import type { Store } from "./open.js";
import { makeClock, makeStateDir } from "./test-support.js";

let store: Store | undefined;
afterEach(() => store?.close());

describe("events", () => {
  it("stores events with the store's clock unless given a time", () => {
    const clock = makeClock();
    store = openStore(makeStateDir(), { now: clock.now });
    const id = store.addEvent({ level: "warn", kind: "token-missing", pool: "web", message: "no token for repo:o/r" });
    store.addEvent({ level: "error", kind: "runner-boot-timeout", runner: "rd-web-1", message: "late", at: new Date(5) });
    expect(store.listEvents({ limit: 10 })).toEqual([
      { id, at: clock.now(), level: "warn", kind: "token-missing", pool: "web", runner: null, message: "no token for repo:o/r" },
      { id: id + 1, at: new Date(5), level: "error", kind: "runner-boot-timeout", pool: null, runner: "rd-web-1", message: "late" },
    ]);
  });

  it("lists the latest events oldest first, by pool, and those after an id", () => {
    store = openStore(makeStateDir());
    for (let i = 1; i <= 5; i++) {
      store.addEvent({ level: "info", kind: "n", pool: i % 2 ? "odd" : "even", message: String(i) });
    }
    const messages = (options: Parameters<Store["listEvents"]>[0]) => store?.listEvents(options).map((e) => e.message);
    expect(messages({ limit: 2 })).toEqual(["4", "5"]);
    expect(messages({ limit: 10, pool: "odd" })).toEqual(["1", "3", "5"]);
    expect(messages({ limit: 2, sinceId: 1 })).toEqual(["2", "3"]);
    expect(messages({ limit: 10, sinceId: 2, pool: "even" })).toEqual(["4"]);
    expect(messages({ limit: 10, sinceId: 5 })).toEqual([]);
  });

  it("refuses an unknown level", () => {
    store = openStore(makeStateDir());
    const bad = { level: "fatal", kind: "x", message: "y" } as unknown as Parameters<Store["addEvent"]>[0];
    expect(() => store?.addEvent(bad)).toThrow(/CHECK constraint/);
  });
});
