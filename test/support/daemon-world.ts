// vitest set-up shared by the real-LXD tests that run the daemon in-process: one test world per
// file, torn down with its daemon even when a test fails.
import { afterAll, beforeAll } from "vitest";
import { startDaemon, type Daemon, type DaemonOptions } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/log.js";
import { createTestWorld, ensureTestImage, type TestWorld } from "./lxd-harness.js";

export interface DaemonWorld {
  readonly world: TestWorld;
  startDaemon(options?: Omit<DaemonOptions, "configPath">): Promise<Daemon>;
  stopDaemon(): Promise<void>;
}

export function useDaemonWorld(): DaemonWorld {
  let world: TestWorld | undefined;
  let daemon: Daemon | undefined;
  beforeAll(async () => {
    await ensureTestImage();
    world = await createTestWorld();
  });
  afterAll(async () => {
    await daemon?.shutdown();
    await world?.cleanup();
  });
  const ready = (): TestWorld => {
    if (!world) throw new Error("the test world is not ready (did beforeAll fail?)");
    return world;
  };
  return {
    get world() {
      return ready();
    },
    async startDaemon(options = {}) {
      daemon = await startDaemon({ configPath: ready().configPath, logger: createLogger(process.env.RUNNERD_TEST_LOG_LEVEL ?? "warn"), ...options });
      return daemon;
    },
    async stopDaemon() {
      await daemon?.shutdown();
      daemon = undefined;
    },
  };
}
