import { describe, expect, it } from "vitest";
import type { CreateInstanceRequest, LxdPort } from "./ports.js";
import type { PoolRuntime } from "./settings.js";
import { SpawnFailed } from "../errors.js";
import { spawnRunner } from "./spawn.js";

/** An in-memory LXD just big enough to watch what a spawn does to instances and files. */
function fakeLxd(options: { dirs?: string[]; failCreate?: boolean; failStart?: boolean } = {}) {
  const instances = new Map<string, { request: CreateInstanceRequest; running: boolean }>();
  const files = new Map<string, { content: string; mode: number }>();
  const dirs = new Set(options.dirs ?? []);
  const calls: string[] = [];
  const port: LxdPort = {
    listInstances: async () => [],
    getImageAlias: async () => null,
    createInstance: async (request) => {
      calls.push("create");
      if (options.failCreate) throw new Error("Image alias not found");
      instances.set(request.name, { request, running: false });
    },
    startInstance: async (name) => {
      calls.push("start");
      if (options.failStart) throw new Error("Failed to start device");
      const i = instances.get(name);
      if (i) i.running = true;
    },
    stopInstance: async (name) => {
      calls.push("stop");
      const i = instances.get(name);
      if (i) i.running = false;
    },
    deleteInstance: async (name) => {
      calls.push("delete");
      instances.delete(name);
    },
    makeDirectory: async (_instance, path) => {
      calls.push(`mkdir ${path}`);
      dirs.add(path);
    },
    pushFile: async (_instance, path, content, { mode }) => {
      const dir = path.slice(0, path.lastIndexOf("/"));
      if (!dirs.has(dir)) throw new Error(`${dir}: no such file or directory`);
      calls.push(`push ${path}`);
      files.set(path, { content: content.toString(), mode });
    },
    pullFile: async () => null,
    pullFileTo: async () => null,
    waitForStopCleanup: async () => true,
  };
  return { port, instances, files, calls };
}

const pool: PoolRuntime = {
  spec: { name: "web", scope: "repo:acme/web", floor: 1, ceiling: 1 },
  connection: "main",
  scopeRef: { type: "repo", repo: "acme/web" },
  credential: "push",
  registrationUrl: "https://github.com/acme/web",
  labels: ["linux"],
  defaultLabels: true,
  image: "runnerd/default",
  namePrefix: "rd",
  profiles: ["default"],
  instanceConfig: { "security.nesting": "true", "user.runnerd.pool": "forged", "boot.autostart": "true" },
  devices: { root: { type: "disk", path: "/", pool: "default" } },
};
const input = { name: "rd-web-abc", pool, controllerId: "ctl", credential: { token: "AAAATOKEN123" }, agentScript: "#!/bin/sh\n", createdAt: new Date("2026-11-28T00:00:00Z") };

describe("spawnRunner", () => {
  it("creates, hands over the agent and a 0600 runner.json, then starts", async () => {
    const lxd = fakeLxd({ dirs: ["/opt/runnerd"] });
    await spawnRunner(lxd.port, input);
    expect(lxd.calls).toEqual(["create", "push /opt/runnerd/runner-agent.sh", "push /opt/runnerd/runner.json", "start"]);
    expect(lxd.files.get("/opt/runnerd/runner.json")?.mode).toBe(0o600);
    expect(lxd.files.get("/opt/runnerd/runner.json")?.content).toContain('"token": "AAAATOKEN123"');
    const created = lxd.instances.get("rd-web-abc")?.request;
    // Ownership keys win over operator config, and no secret is in any config key.
    expect(created?.config["user.runnerd.pool"]).toBe("web");
    // Never started again by LXD itself, whatever the operator's config says.
    expect(created?.config["boot.autostart"]).toBe("false");
    expect(JSON.stringify(created)).not.toContain("AAAATOKEN123");
    expect(created?.source).toEqual({ alias: "runnerd/default" });
  });

  it("on a cluster, creates on the member runnerd chose and keeps the runner there on evacuation", async () => {
    const lxd = fakeLxd({ dirs: ["/opt/runnerd"] });
    await spawnRunner(lxd.port, { ...input, placement: { target: "m2" } });
    const created = lxd.instances.get("rd-web-abc")?.request;
    expect(created?.target).toBe("m2");
    expect(created?.config["cluster.evacuate"]).toBe("stop");
    const single = fakeLxd({ dirs: ["/opt/runnerd"] });
    await spawnRunner(single.port, input);
    expect(single.instances.get("rd-web-abc")?.request.target).toBeUndefined();
    expect(single.instances.get("rd-web-abc")?.request.config["cluster.evacuate"]).toBeUndefined();
  });

  it("hands a JIT runner its config in runner.json and its registration id in a config key", async () => {
    const lxd = fakeLxd({ dirs: ["/opt/runnerd"] });
    await spawnRunner(lxd.port, { ...input, pool: { ...pool, credential: "jit" }, credential: { jitconfig: "eyJKSVQiOiJDT05GSUcifQ==", githubRunnerId: 42 } });
    const file = lxd.files.get("/opt/runnerd/runner.json")?.content ?? "";
    expect(file).toContain('"jitconfig": "eyJKSVQiOiJDT05GSUcifQ=="');
    expect(file).toContain('"token": ""');
    expect(file).not.toContain("42");
    const created = lxd.instances.get("rd-web-abc")?.request;
    expect(created?.config["user.runnerd.github-runner-id"]).toBe("42");
    expect(JSON.stringify(created)).not.toContain("eyJKSVQiOiJDT05GSUcifQ");
  });

  it("asks config.sh for no default labels when the pool disables them", async () => {
    const lxd = fakeLxd({ dirs: ["/opt/runnerd"] });
    await spawnRunner(lxd.port, { ...input, pool: { ...pool, defaultLabels: false } });
    expect(lxd.files.get("/opt/runnerd/runner.json")?.content).toContain('"no_default_labels": "true"');
    const plain = fakeLxd({ dirs: ["/opt/runnerd"] });
    await spawnRunner(plain.port, input);
    expect(plain.files.get("/opt/runnerd/runner.json")?.content).toContain('"no_default_labels": ""');
  });

  it("creates /opt/runnerd when the image lacks it", async () => {
    const lxd = fakeLxd();
    await spawnRunner(lxd.port, input);
    expect(lxd.calls.slice(0, 3)).toEqual(["create", "mkdir /opt/runnerd", "push /opt/runnerd/runner-agent.sh"]);
    expect(lxd.instances.get("rd-web-abc")?.running).toBe(true);
  });

  it("removes the half-made instance when the start fails, and says nothing is left", async () => {
    const lxd = fakeLxd({ dirs: ["/opt/runnerd"], failStart: true });
    const err = await spawnRunner(lxd.port, input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpawnFailed);
    expect((err as SpawnFailed).leftover).toBe(false);
    expect((err as SpawnFailed).message).toContain("Failed to start device");
    expect(lxd.instances.size).toBe(0);
  });

  it("reports a failed create without trying to delete anything", async () => {
    const lxd = fakeLxd({ failCreate: true });
    const err = await spawnRunner(lxd.port, input).catch((e: unknown) => e);
    expect(err).toMatchObject({ leftover: false, message: "Image alias not found" });
    expect(lxd.calls).toEqual(["create"]);
  });
});
