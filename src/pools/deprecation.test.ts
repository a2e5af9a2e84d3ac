import { describe, expect, it } from "vitest";
import { DeprecatedPools, deprecationAfter, deprecationMessage } from "./deprecation.js";

const A = "a".repeat(64);
const B = "b".repeat(64);

describe("deprecationAfter: a pool stays blocked while its image is the refused one", () => {
  it.each<[string, string | undefined, string | undefined, ReturnType<typeof deprecationAfter>]>([
    ["the alias still points at the refused image", A, A, "keep"],
    ["the pool names the refused image by a fingerprint prefix", A, A.slice(0, 12), "keep"],
    ["the alias cannot be read this pass", A, undefined, "keep"],
    ["the alias moved (a rebuild)", A, B, "clear"],
    ["the refused fingerprint was not known: the pool's current image is it", undefined, A, "adopt"],
    ["nothing known either way", undefined, undefined, "keep"],
  ])("%s", (_name, blocked, current, expected) => {
    expect(deprecationAfter(blocked, current)).toBe(expected);
  });
});

describe("deprecationMessage says what to do", () => {
  it.each<[string, Parameters<typeof deprecationMessage>[0], string | undefined, RegExp]>([
    ["a runnerd-built image", { image: "runnerd/default", builtImage: { name: "default", autoRebuild: false } }, "2.313.0", /actions\/runner 2\.313\.0 in runnerd\/default is deprecated.*run 'runnerd image build default'/],
    ["with auto_rebuild", { image: "runnerd/default", builtImage: { name: "default", autoRebuild: true } }, undefined, /auto_rebuild is building runnerd\/default with the newest actions\/runner/],
    ["an image runnerd does not build", { image: "my-runner" }, "2.313.0", /rebuild the image with a newer actions\/runner \(spawning resumes when my-runner points at a new image\)/],
  ])("%s", (_name, pool, version, expected) => {
    expect(deprecationMessage(pool, version)).toMatch(expected);
  });
});

describe("DeprecatedPools", () => {
  const entry = (fingerprint?: string) => ({ runner: "rd-web-1", at: 1, message: "refused", ...(fingerprint ? { fingerprint } : {}) });

  it("blocks once per image, and resumes when the image moves", () => {
    const d = new DeprecatedPools();
    expect(d.note("web", entry(A))).toBe(true);
    expect(d.note("web", { ...entry(A), runner: "rd-web-2" })).toBe(false);
    expect(d.blocked()).toEqual(new Set(["web"]));
    expect(d.settle(["web"], () => A)).toEqual([]);
    expect(d.settle(["web"], () => undefined)).toEqual([]);
    expect(d.settle(["web"], () => B)).toEqual(["web"]);
    expect(d.blocked().size).toBe(0);
    // the new image refused too: blocked again
    expect(d.note("web", entry(B))).toBe(true);
  });

  it("adopts the pool's image when the refused runner's was not known", () => {
    const d = new DeprecatedPools();
    d.note("web", entry());
    expect(d.settle(["web"], () => A)).toEqual([]);
    expect(d.get("web")?.fingerprint).toBe(A);
    expect(d.settle(["web"], () => B)).toEqual(["web"]);
  });

  it("forgets a pool that left the configuration, without calling it resumed", () => {
    const d = new DeprecatedPools();
    d.note("web", entry(A));
    expect(d.settle(["api"], () => B)).toEqual([]);
    expect(d.get("web")).toBeUndefined();
  });
});
