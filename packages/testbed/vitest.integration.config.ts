import { defineConfig } from "vitest/config";

// `pnpm test:integration`: real PostgreSQL + fake-gcs-server + MLflow. One file at a time
// (2 cores; each file starts its own services once), long timeouts for MLflow startups.
export default defineConfig({
  test: {
    include: ["test/**/*.integration.test.ts"],
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
    pool: "forks",
  },
});
