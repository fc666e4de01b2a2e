import { defineConfig } from "vitest/config";

// Every chart test runs once per Helm the chart supports (scripts/bootstrap.sh installs all three):
// Helm 4, the newest Helm 3, and the oldest Helm 3 that Chart.yaml and the README name.
// Missing binaries fail the run (src/helm.ts says which), they never skip it.
const HELMS = [
  { name: "helm4", bin: process.env.HELM_BIN ?? "helm", expect: "^v4\\." },
  { name: "helm3", bin: process.env.HELM3_BIN ?? "helm3", expect: "^v3\\." },
  { name: "helm3-oldest", bin: process.env.HELM3_OLDEST_BIN ?? "helm3-oldest", expect: "oldest" },
];

export default defineConfig({
  test: {
    // Each test spawns helm a few times; three Helms' suites at once on a loaded 2-core machine
    // took 5.3 s for one five-render test. A generous limit, not a timing assertion.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: HELMS.map((h) => ({ extends: true, test: { name: h.name, env: { HELM_BIN: h.bin, HELM_EXPECT: h.expect } } })),
  },
});
