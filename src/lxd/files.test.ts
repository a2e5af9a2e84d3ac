import { describe, expect, it } from "vitest";
import { ancestorsAndSelf } from "./files.js";

describe("ancestorsAndSelf", () => {
  it("lists every directory from the top down", () => {
    expect(ancestorsAndSelf("/home/runner/.ssh/")).toEqual(["/home", "/home/runner", "/home/runner/.ssh"]);
    expect(ancestorsAndSelf("/")).toEqual([]);
  });
});
