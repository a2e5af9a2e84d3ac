import { describe, expect, it } from "vitest";
import { parseVersion, standardRemotes } from "./remotes.js";
import { checkBuildSource, defaultSourceFor, imageAlias, lxdImageSource, parseBuildSource, sourceRefusal, type SourceCheck } from "./source.js";

const lxd502 = { backend: "lxd", version: "5.0.2" };
const lxd504 = { backend: "lxd", version: "5.0.4" };
const lxd5210 = { backend: "lxd", version: "5.21.0" };
const lxd5213 = { backend: "lxd", version: "5.21.3" };
const lxd6 = { backend: "lxd", version: "6.5" };
const incus = { backend: "incus", version: "6.0.4" };

function refused(check: SourceCheck): Extract<SourceCheck, { ok: false }> {
  if (check.ok) throw new Error(`expected a refusal, got ${JSON.stringify(check)}`);
  return check;
}

describe("the remotes each backend's CLI has", () => {
  it("LXD 5.0.2 as `lxc remote list` shows it on Debian 12", () => {
    expect(standardRemotes(lxd502)).toEqual({
      images: { server: "https://images.linuxcontainers.org", refusal: expect.stringMatching(/Incus and LXC only/) },
      ubuntu: { server: "https://cloud-images.ubuntu.com/releases" },
      "ubuntu-daily": { server: "https://cloud-images.ubuntu.com/daily" },
    });
  });

  it("LXD 5.0.4, 5.21.1+ and 6.x point images: at images.lxd.canonical.com; 5.21.0 has none", () => {
    for (const target of [lxd504, lxd5213, lxd6]) expect(standardRemotes(target).images).toEqual({ server: "https://images.lxd.canonical.com" });
    expect(standardRemotes(lxd5210).images).toBeUndefined();
    expect(Object.keys(standardRemotes(lxd5213))).toEqual(["images", "ubuntu", "ubuntu-daily", "ubuntu-minimal", "ubuntu-minimal-daily"]);
  });

  it("Incus 6.0 as `incus remote list` shows it: images only", () => {
    expect(standardRemotes(incus)).toEqual({ images: { server: "https://images.linuxcontainers.org" } });
  });

  it("reads versions, and a version it cannot read as the newest", () => {
    expect(parseVersion("5.0.2")).toEqual([5, 0, 2]);
    expect(parseVersion("6.5")).toEqual([6, 5, 0]);
    expect(standardRemotes({ backend: "lxd", version: "" }).images?.server).toBe("https://images.lxd.canonical.com");
  });
});

describe("the default source", () => {
  it("is one the backend can use", () => {
    expect(defaultSourceFor(lxd502)).toBe("ubuntu:24.04");
    expect(defaultSourceFor(incus)).toBe("images:ubuntu/24.04");
    expect(checkBuildSource(undefined, lxd502)).toEqual({
      ok: true,
      text: "ubuntu:24.04",
      isDefault: true,
      source: { kind: "remote", remote: "ubuntu", server: "https://cloud-images.ubuntu.com/releases", protocol: "simplestreams", alias: "24.04" },
    });
    expect(checkBuildSource(undefined, incus)).toMatchObject({ ok: true, text: "images:ubuntu/24.04", isDefault: true, source: { server: "https://images.linuxcontainers.org", alias: "ubuntu/24.04" } });
  });
});

describe("checkBuildSource", () => {
  it("refuses images: on LXD 5.0.2 and names the Ubuntu remote instead", () => {
    const check = refused(checkBuildSource("images:ubuntu/24.04", lxd502));
    expect(check.instead).toBe("ubuntu:24.04");
    expect(sourceRefusal(check)).toMatch(/^image source "images:ubuntu\/24\.04": LXD 5\.0\.2 cannot build from it: its images: remote is https:\/\/images\.linuxcontainers\.org there, which has served Incus and LXC only, not LXD, since 2024 .*; use ubuntu:24\.04 instead$/);
    expect(refused(checkBuildSource("images:ubuntu/noble/cloud", lxd502)).instead).toBe("ubuntu:noble");
    expect(refused(checkBuildSource("images:debian/12", lxd502)).instead).toBe("ubuntu:24.04");
  });

  it("takes images: on a newer LXD, from images.lxd.canonical.com", () => {
    expect(checkBuildSource("images:debian/12", lxd5213)).toMatchObject({ ok: true, source: { server: "https://images.lxd.canonical.com", alias: "debian/12" } });
  });

  it("says LXD 5.21.0 has no images: remote", () => {
    expect(refused(checkBuildSource("images:ubuntu/24.04", lxd5210)).problem).toBe('unknown remote "images"; LXD 5.21.0\'s remotes are: ubuntu, ubuntu-daily, ubuntu-minimal, ubuntu-minimal-daily (or give a local alias or fingerprint)');
  });

  it("refuses ubuntu: on Incus (LXD-format images only) and names images:ubuntu/RELEASE instead", () => {
    const check = refused(checkBuildSource("ubuntu:24.04", incus));
    expect(check.problem).toMatch(/^Incus 6\.0\.4 cannot build from it: "ubuntu" is LXD's remote for cloud-images\.ubuntu\.com, .*LXD-format images only/);
    expect(check.instead).toBe("images:ubuntu/24.04");
    expect(refused(checkBuildSource("ubuntu-daily:noble", incus)).instead).toBe("images:ubuntu/noble");
    expect(refused(checkBuildSource("ubuntu:lts", incus)).instead).toBe("images:ubuntu/24.04");
  });

  it("names unknown remotes and what this backend knows", () => {
    expect(refused(checkBuildSource("mine:debian/12", lxd502)).problem).toBe('unknown remote "mine"; LXD 5.0.2\'s remotes are: images, ubuntu, ubuntu-daily (or give a local alias or fingerprint)');
    expect(refused(checkBuildSource("mine:debian/12", incus)).problem).toMatch(/unknown remote "mine"; Incus 6\.0\.4's remotes are: images \(/);
    expect(refused(checkBuildSource("ubuntu:", lxd502)).problem).toBe('no image after "ubuntu:"');
  });

  it("takes extra remotes by name, on any backend", () => {
    const extra = { mirror: { server: "https://127.0.0.1:8443", protocol: "simplestreams" as const } };
    for (const target of [lxd502, incus]) {
      expect(checkBuildSource("mirror:runnerd-test/debian12", target, extra)).toMatchObject({ ok: true, source: { kind: "remote", remote: "mirror", server: "https://127.0.0.1:8443", alias: "runnerd-test/debian12" } });
    }
  });

  it("takes local aliases and fingerprints on every backend", () => {
    for (const target of [lxd502, incus]) {
      expect(checkBuildSource("runnerd-test/debian12", target)).toMatchObject({ ok: true, isDefault: false, source: { kind: "alias", alias: "runnerd-test/debian12" } });
      expect(checkBuildSource("4867b1ca4dde", target)).toMatchObject({ ok: true, source: { kind: "fingerprint", fingerprint: "4867b1ca4dde" } });
    }
  });
});

describe("parseBuildSource and the LXD request", () => {
  it("maps a remote source to LXD's create source", () => {
    const s = parseBuildSource("ubuntu:24.04", lxd502);
    expect(lxdImageSource(s)).toEqual({ alias: "24.04", server: "https://cloud-images.ubuntu.com/releases", protocol: "simplestreams" });
    expect(lxdImageSource(parseBuildSource("4867b1ca4dde", incus))).toEqual({ fingerprint: "4867b1ca4dde" });
  });

  it("throws the refusal with what to use instead", () => {
    expect(() => parseBuildSource("images:ubuntu/24.04", lxd502)).toThrow(/use ubuntu:24\.04 instead/);
  });

  it("publishes under runnerd/NAME", () => {
    expect(imageAlias("default")).toBe("runnerd/default");
  });
});
