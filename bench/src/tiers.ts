/**
 * Wall time of the test tiers: `scripts/test-all.ts --only fast` and `--only integration`
 * (turbo's cache off, so every task really runs), and the whole e2e with its per-phase
 * report. The e2e runs under the cluster lock. Output goes to bench/.results/*.log.
 */
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { machineInfo } from "./machine.ts";
import type { Section, TiersData, TierTime } from "./results.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
export const LOG_DIR = join(ROOT, "bench/.results");
export const CLUSTER_LOCK = process.env.MLFLOW_K8S_CLUSTER_LOCK ?? "/tmp/mlflow-k8s-cluster.lock";

/** `cmd args` prefixed with `flock <lock>` when flock exists (the kind cluster, its registry and the project dockerd are shared, one user at a time). */
export function underClusterLock(cmd: string, args: string[]): [string, string[]] {
  const flock = ["/usr/bin/flock", "/bin/flock"].find(existsSync);
  return flock && CLUSTER_LOCK !== "none" ? [flock, [CLUSTER_LOCK, cmd, ...args]] : [cmd, args];
}

/** Run to completion with output to a log file; resolves with exit code and wall seconds. */
export function timed(cmd: string, args: string[], logName: string, env: Record<string, string> = {}): Promise<TierTime> {
  mkdirSync(LOG_DIR, { recursive: true });
  const out = createWriteStream(join(LOG_DIR, logName));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      out.end();
      resolve({ seconds: (performance.now() - started) / 1000, exitCode: code ?? (signal ? 128 : 1) });
    });
  });
}

export async function runTiers(log: (l: string) => void): Promise<Section<TiersData>> {
  const started = performance.now();
  const data: TiersData = {};
  const node = process.execPath;
  for (const tier of ["fast", "integration"] as const) {
    log(`tier ${tier}: node scripts/test-all.ts --only ${tier} (log bench/.results/tier-${tier}.log)`);
    data[tier] = await timed(node, ["scripts/test-all.ts", "--only", tier], `tier-${tier}.log`, { TURBO_FORCE: "true" });
    log(`  ${data[tier]?.seconds.toFixed(1)} s, exit ${data[tier]?.exitCode}`);
  }
  const report = join(LOG_DIR, "e2e-report.json");
  rmSync(report, { force: true });
  const provider = process.env.MLFLOW_K8S_PROVIDER ?? "kind";
  log(`tier e2e: node e2e/src/main.ts --provider ${provider} (under ${CLUSTER_LOCK}; log bench/.results/tier-e2e.log)`);
  const [cmd, args] = underClusterLock(node, ["e2e/src/main.ts", "--provider", provider, "--report", report]);
  const e2e = await timed(cmd, args, "tier-e2e.log");
  const phases = existsSync(report) ? (JSON.parse(readFileSync(report, "utf8")) as { phases: { name: string; status: string; seconds: number }[] }).phases : [];
  data.e2e = { ...e2e, phases: phases.map(({ name, status, seconds }) => ({ name, status, seconds })) };
  log(`  ${e2e.seconds.toFixed(1)} s, exit ${e2e.exitCode}`);
  const failed = (["fast", "integration", "e2e"] as const).filter((t) => data[t] && data[t].exitCode !== 0);
  return {
    measuredAt: new Date().toISOString(),
    machine: machineInfo(),
    seconds: (performance.now() - started) / 1000,
    data,
    notes: [
      "fast and integration: `node scripts/test-all.ts --only <tier>` with `TURBO_FORCE=true` (no turbo cache hits), so every task runs.",
      `e2e: \`node e2e/src/main.ts --provider ${provider} --report …\` (binaries, node image and the image build cache warm); the e2e wall time includes waiting for the shared cluster lock if another user held it.`,
      ...(failed.length ? [`Tier(s) ${failed.join(", ")} did not pass in this run; their times are still the wall time of the run.`] : []),
    ],
  };
}
