import { describe, expect, it } from "vitest";
import { detectLxdSocket } from "./socket-path.js";

describe("detectLxdSocket", () => {
  it("lists every path tried when none exists", () => {
    expect(() => detectLxdSocket(["/nonexistent/a.socket", "/nonexistent/b.socket"])).toThrow(
      "find LXD socket: none of /nonexistent/a.socket, /nonexistent/b.socket exists",
    );
  });

  it("skips paths that exist but are not sockets", () => {
    expect(() => detectLxdSocket(["/etc/hostname"])).toThrow(/none of \/etc\/hostname/);
  });
});
