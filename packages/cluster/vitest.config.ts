import { defineConfig } from "vitest/config";

// `*.cluster.test.ts` start a real cluster (root, minutes): only `pnpm test:cluster` runs them.
const cluster = process.env.MLFLOW_K8S_CLUSTER_TESTS === "1";

export default defineConfig({
  test: {
    include: cluster ? ["test/**/*.cluster.test.ts"] : ["test/**/*.test.ts"],
    exclude: cluster ? [] : ["test/**/*.cluster.test.ts", "**/node_modules/**"],
    testTimeout: cluster ? 900_000 : 10_000,
    hookTimeout: cluster ? 900_000 : 10_000,
    fileParallelism: !cluster,
  },
});
