#!/usr/bin/env node
/**
 * `pnpm bench`: measures the figures a user asks for before adopting the project, prints
 * them, and writes bench/results.json and bench/RESULTS.md (the README quotes the latter).
 *
 *   kind        kind here: node image build (cold, warm), kind up/down, the whole e2e on kind
 *   minikube    minikube here: base image build (cold, warm), minikube up/down, the whole e2e on minikube
 *   build       the cold from-source build of Kubernetes + CoreDNS for the node image (as recorded)
 *   tiers       wall time of the fast and integration tiers, and the e2e by phase
 *   image       size of our image against the official recipe (pip install mlflow) on the same base, and start time + idle worker memory against the image before the slim change
 *   install     helm install -> first successful REST call, cold and warm image
 *   peers       req/s, p50/p99 of five endpoints: the chart against MLflow's defaults and the official recipe, same cluster, database and pod resources, interleaved rounds; the chart's knobs
 *   scaling     throughput and memory per pod with 1, 2, 4 workers and 1, 2, 4 replicas
 *
 * Usage: pnpm bench [--only kind,minikube,build,tiers,image,install,peers,scaling]
 * The cluster parts run in one child process (cluster.ts) under the cluster lock;
 * a run of a subset replaces only those sections of the results file.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeMachine, mergeResults, parseResults, renderMarkdown, SECTION_NAMES, type SectionName, type Sections } from "./results.ts";
import { fromSourceSection } from "./from-source.ts";
import { machineInfo } from "./machine.ts";
import { LOG_DIR, runTiers, timed, underClusterLock } from "./tiers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
export const RESULTS_JSON = join(ROOT, "bench/results.json");
export const RESULTS_MD = join(ROOT, "bench/RESULTS.md");
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

export function parseOnly(argv: string[]): SectionName[] {
  const i = argv.indexOf("--only");
  if (i < 0) return [...SECTION_NAMES];
  const names = (argv[i + 1] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !SECTION_NAMES.includes(n as SectionName));
  if (!names.length || unknown.length) throw new Error(`--only takes a comma-separated list of ${SECTION_NAMES.join(", ")}${unknown.length ? `; unknown: ${unknown.join(", ")}` : ""}`);
  return names as SectionName[];
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`usage: pnpm bench [--only ${SECTION_NAMES.join(",")}]\n`);
    return 0;
  }
  let only: SectionName[];
  try {
    only = parseOnly(argv);
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    return 2;
  }
  const started = performance.now();
  log(`machine: ${describeMachine(machineInfo())}; sections: ${only.join(", ")}`);
  const fresh: Sections = {};
  const save = () => {
    const old = existsSync(RESULTS_JSON) ? parseResults(readFileSync(RESULTS_JSON, "utf8")) : undefined;
    const merged = mergeResults(old, fresh);
    writeFileSync(RESULTS_JSON, `${JSON.stringify(merged, null, 2)}\n`);
    writeFileSync(RESULTS_MD, renderMarkdown(merged));
  };
  let failed = false;
  if (only.includes("tiers")) {
    fresh.tiers = await runTiers(log);
    save();
  }
  if (only.includes("build")) {
    fresh.build = fromSourceSection();
    save();
  }
  const clusterParts = only.filter((n) => n !== "tiers" && n !== "build");
  if (clusterParts.length) {
    const out = join(LOG_DIR, "cluster-sections.json");
    const [cmd, args] = underClusterLock(process.execPath, [join(ROOT, "bench/src/cluster.ts"), "--sections", clusterParts.join(","), "--out", out]);
    log(`${clusterParts.join(", ")}: one cluster session under the lock (log bench/.results/cluster.log)`);
    mkdirSync(LOG_DIR, { recursive: true });
    writeFileSync(out, "{}");
    const r = await timed(cmd, args, "cluster.log");
    Object.assign(fresh, JSON.parse(readFileSync(out, "utf8")) as Sections);
    if (r.exitCode !== 0) {
      failed = true;
      log(`cluster session exited ${r.exitCode}; see bench/.results/cluster.log`);
    }
    save();
  }
  const missing = only.filter((n) => !fresh[n]);
  const incomplete = only.filter((n) => fresh[n]?.error);
  process.stdout.write(renderMarkdown({ schema: 1, sections: fresh }));
  log(`wrote bench/results.json and bench/RESULTS.md in ${((performance.now() - started) / 60_000).toFixed(1)} min`);
  if (missing.length) log(`NOT MEASURED: ${missing.join(", ")}`);
  if (incomplete.length) log(`INCOMPLETE: ${incomplete.map((n) => `${n} (${fresh[n]?.error})`).join("; ")}`);
  return failed || missing.length || incomplete.length ? 1 : 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
