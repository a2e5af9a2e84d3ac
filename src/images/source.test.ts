import { describe, expect, it } from "vitest";
import { imageAlias, lxdImageSource, parseBuildSource } from "./source.js";

describe("parseBuildSource", () => {
  it("reads the standard images remote", () => {
    const s = parseBuildSource("images:ubuntu/24.04");
    expect(s).toEqual({ kind: "remote", remote: "images", server: "https://images.linuxcontainers.org", protocol: "simplestreams", alias: "ubuntu/24.04" });
    expect(lxdImageSource(s)).toEqual({ alias: "ubuntu/24.04", server: "https://images.linuxcontainers.org", protocol: "simplestreams" });
  });

  it("reads the ubuntu remote", () => {
    expect(parseBuildSource("ubuntu:24.04")).toMatchObject({ kind: "remote", server: "https://cloud-images.ubuntu.com/releases", alias: "24.04" });
  });

  it("takes local aliases and fingerprints", () => {
    expect(parseBuildSource("runnerd-test/debian12")).toEqual({ kind: "alias", alias: "runnerd-test/debian12" });
    expect(parseBuildSource("4867b1ca4dde")).toEqual({ kind: "fingerprint", fingerprint: "4867b1ca4dde" });
  });

  it("names unknown remotes and what is known", () => {
    expect(() => parseBuildSource("mine:debian/12")).toThrow(/unknown remote "mine"; known: images, ubuntu/);
    expect(() => parseBuildSource("images:")).toThrow(/no image after/);
  });

  it("publishes under runnerd/NAME", () => {
    expect(imageAlias("default")).toBe("runnerd/default");
  });
});
