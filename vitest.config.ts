import { defineConfig } from "vitest/config";

// Unit tests live next to the code; integration tests talk to a real LXD and run one file at a
// time, because they share the daemon, the storage pool and two CPU cores. Cluster tests
// (test/cluster/) talk to the test cluster on this host and are a project of their own.
//
// RUNNERD_TEST_RETRY=N (.ci/run sets 1) runs a failed integration or cluster test again, up to N
// times: they drive real daemons on a loaded 2-core host, where a rare timing loss is not a
// product failure. A test that passed only on a retry is named in .ci/run's summary, never hidden.
const retry = Number(process.env.RUNNERD_TEST_RETRY ?? 0) || 0;

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: "unit", include: ["src/**/*.test.ts", "test/unit/**/*.test.ts"], environment: "node" },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          environment: "node",
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
          retry,
        },
      },
      {
        // The 3-member test cluster scripts/setup-cluster.sh builds (RUNNERD_BACKEND picks LXD or
        // Incus); one file at a time, since the files kill and restart members.
        test: {
          name: "cluster",
          include: ["test/cluster/**/*.test.ts"],
          environment: "node",
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
          retry,
        },
      },
    ],
  },
});
