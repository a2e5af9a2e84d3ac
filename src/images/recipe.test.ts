import { describe, expect, it } from "vitest";
import type { ImageConfig } from "../config/index.js";
import { builderProxy } from "./builder.js";
import { recipeHash, renderBuildScript } from "./recipe.js";

const image: ImageConfig = {
  name: "default",
  source: "images:ubuntu/24.04",
  connection: "main",
  packages: ["git", "curl"],
  docker: true,
  docker_compose: true,
  runner: { version: "latest", arch: "x64" },
  pre_pull: ["postgres:16"],
  files: [],
  steps: ["echo it's mine\necho second line"],
  proxy: undefined,
  profiles: ["default"],
  auto_rebuild: false,
  build_timeout: 60_000,
};

describe("renderBuildScript", () => {
  const script = renderBuildScript({ image, runnerVersion: "2.330.0", proxyUrl: undefined });

  it("installs Docker and the packages, the runner user, the runner, its dependencies and the agent, in that order", () => {
    const order = ["apt-get install -y --no-install-recommends 'sudo' 'ca-certificates' 'tar' 'gzip' 'docker.io' 'git' 'curl'", "docker-compose-v2", "useradd --create-home --uid 1001", "usermod -aG docker runner", "NOPASSWD:ALL", "tar -xzf", "installdependencies.sh", "systemctl enable runnerd-agent.service", "overlay2", "docker pull 'postgres:16'", "sh -eu /root/runnerd-build/step-1.sh", "apt-get clean"];
    let at = 0;
    for (const needle of order) {
      const found = script.indexOf(needle, at);
      expect(found, `${needle} after position ${at}`).toBeGreaterThan(-1);
      at = found;
    }
  });

  it("quotes step titles and leaves no build traces behind", () => {
    expect(script).toContain(`step 'step 1: echo it'\\''s mine'`);
    expect(script).toContain(": > /etc/machine-id");
    expect(script).toContain("rm -rf /root/runnerd-build");
  });

  it("configures apt and downloads for a proxy, and removes that again", () => {
    const proxied = renderBuildScript({ image, runnerVersion: "2.330.0", proxyUrl: "http://127.0.0.1:3142" });
    expect(proxied).toContain(`Acquire::http::Proxy`);
    expect(proxied).toContain("export http_proxy='http://127.0.0.1:3142'");
    expect(proxied).toContain("rm -rf /var/lib/apt/lists/* /etc/apt/apt.conf.d/90runnerd-build-proxy");
  });

  it("never prints a proxy password in the progress output", () => {
    const proxied = renderBuildScript({ image, runnerVersion: "2.330.0", proxyUrl: "http://user:s3cret@proxy.internal:3128" });
    expect(proxied).toContain("step 'using the proxy http://***@proxy.internal:3128'");
    expect(proxied.split("\n").filter((l) => l.includes("s3cret")).every((l) => !l.startsWith("step"))).toBe(true);
  });

  it("leaves Docker out when asked", () => {
    const plain = renderBuildScript({ image: { ...image, docker: false, pre_pull: [] }, runnerVersion: "2.330.0", proxyUrl: undefined });
    expect(plain).not.toContain("docker");
  });
});

describe("recipeHash", () => {
  const input = { image, runnerSha256: "a".repeat(64), agentScript: "agent", agentUnit: "unit", runnerVersion: "2.330.0" };

  it("changes with what goes into the image", () => {
    const base = recipeHash(input);
    expect(recipeHash({ ...input, runnerSha256: "b".repeat(64) })).not.toBe(base);
    expect(recipeHash({ ...input, image: { ...image, packages: ["git"] } })).not.toBe(base);
    expect(recipeHash({ ...input, agentScript: "agent v2" })).not.toBe(base);
  });

  it("does not change with the proxy or the build timeout", () => {
    const base = recipeHash(input);
    const proxied = { ...image, proxy: "http://proxy.internal:3128", build_timeout: 1 };
    expect(recipeHash({ ...input, image: proxied })).toBe(base);
  });
});

describe("builderProxy", () => {
  it("reaches a proxy on the host's loopback through a proxy device", () => {
    expect(builderProxy("http://127.0.0.1:3142")).toEqual({
      insideUrl: "http://127.0.0.1:3142",
      device: { type: "proxy", listen: "tcp:127.0.0.1:3142", connect: "tcp:127.0.0.1:3142", bind: "instance" },
    });
    expect(builderProxy("http://localhost:8080/")?.device?.connect).toBe("tcp:127.0.0.1:8080");
  });

  it("uses other proxies directly", () => {
    expect(builderProxy("http://proxy.internal:3128")).toEqual({ insideUrl: "http://proxy.internal:3128" });
    expect(builderProxy(undefined)).toBeUndefined();
  });
});
