/**
 * Runs every test tier in order and prints one total across all of them.
 *
 *   fast         pnpm test (turbo): unit tests, chart rendering, schema checks
 *   integration  real PostgreSQL + GCS emulator + MLflow on loopback, and the
 *                image entrypoint's pytest suite
 *   e2e          a real cluster (kind; the node image built here where no registry is
 *                reachable), the chart from the cluster's OCI registry, REST through the NodePort
 *
 * Each vitest run writes a JSON report under .results/; the totals come from
 * those reports, never from parsing console text. A tier that cannot run on this
 * machine is reported loudly with its reason and counted as skipped, never passed.
 * Each vitest run also writes JUnit XML (.results/<tier>.junit.xml per package) for CI, and
 * on GitHub Actions the totals and failed tests go to the job summary ($GITHUB_STEP_SUMMARY).
 * Usage: node scripts/test-all.ts [--only fast,integration,...]
 * The e2e tier's cluster: MLFLOW_K8S_PROVIDER (default kind).
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const RESULTS = join(ROOT, ".results");

interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}

interface Tier {
  name: string;
  /** Why this tier cannot run here, or undefined when it can. */
  unavailable?: () => string | undefined;
  run: () => number;
  /** Report files this tier wrote. */
  reports: () => string[];
}

const only = process.argv.includes("--only") ? new Set(process.argv[process.argv.indexOf("--only") + 1]?.split(",")) : undefined;

function sh(cmd: string, args: string[], env: Record<string, string> = {}): number {
  const started = Date.now();
  console.log(`\n$ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: "inherit", env: { ...process.env, ...env } });
  console.log(`(exit ${r.status ?? r.signal}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return r.status ?? 1;
}

const vitestArgs = (tier: string) => ["--", "--reporter=default", "--reporter=json", `--outputFile.json=.results/${tier}.json`, "--reporter=junit", `--outputFile.junit=.results/${tier}.junit.xml`];
const provider = process.env.MLFLOW_K8S_PROVIDER ?? "kind";
const packageReports = (tier: string) =>
  ["packages", "e2e", "bench"].flatMap((dir) => {
    const base = join(ROOT, dir);
    if (!existsSync(base)) return [];
    const candidates = dir === "packages" ? readdirSync(base).map((p) => join(base, p)) : [base];
    return candidates.map((p) => join(p, ".results", `${tier}.json`)).filter(existsSync);
  });

const TIERS: Tier[] = [
  {
    name: "fast",
    run: () => sh("pnpm", ["exec", "turbo", "run", "test", "--continue", "--output-logs=new-only", ...vitestArgs("test")]),
    reports: () => packageReports("test"),
  },
  {
    name: "integration",
    run: () => sh("pnpm", ["exec", "turbo", "run", "test:integration", "--continue", "--concurrency=1", ...vitestArgs("integration")]),
    // pytest (the entrypoint's unit tests) runs inside this tier and writes JUnit XML.
    reports: () => [...packageReports("integration"), join(ROOT, "packages/testbed/.results/pytest.xml")].filter(existsSync),
  },
  {
    name: "e2e",
    // The provider says itself whether it can run here (tools, Docker, root); scripts/with-root.sh
    // runs the check and the e2e under sudo when the provider needs root (kind where no
    // Docker engine runs, so the project starts its own dockerd) and the user has passwordless sudo.
    unavailable: () => {
      const r = spawnSync("bash", ["scripts/with-root.sh", "node", "packages/cluster/src/available.ts", provider], { cwd: ROOT, encoding: "utf8" });
      return r.status === 0 ? undefined : `the ${provider} provider cannot run here: ${(r.stdout + r.stderr).trim().split(/\r?\n/).pop()}`;
    },
    run: () => sh("bash", ["scripts/with-root.sh", "node", "e2e/src/main.ts", "--provider", provider, "--report", ".results/e2e.json"]),
    reports: () => [join(RESULTS, "e2e.json")].filter(existsSync),
  },
];

/** Names of the failed tests in a vitest JSON report (for the job summary). */
function vitestFailures(file: string): string[] {
  const report = JSON.parse(readFileSync(file, "utf8")) as { testResults?: { name: string; message?: string; status: string; assertionResults: { fullName: string; status: string }[] }[] };
  return (report.testResults ?? []).flatMap((suite) => {
    const failed = suite.assertionResults.filter((a) => a.status === "failed").map((a) => `${relative(ROOT, suite.name)}: ${a.fullName}`);
    return failed.length || suite.status !== "failed" ? failed : [`${relative(ROOT, suite.name)}: ${suite.message?.split("\n")[0] ?? "suite failed"}`];
  });
}

function vitestTotals(file: string): Totals {
  const report = JSON.parse(readFileSync(file, "utf8")) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number; numFailedTestSuites: number };
  // A suite that failed to load has no failed tests but must still count as a failure.
  const brokenSuites = report.numFailedTests === 0 ? report.numFailedTestSuites : 0;
  return { passed: report.numPassedTests, failed: report.numFailedTests + brokenSuites, skipped: report.numPendingTests + report.numTodoTests };
}

function junitTotals(file: string): Totals {
  const xml = readFileSync(file, "utf8");
  const attr = (name: string) => Number(new RegExp(`<testsuite[^>]*\\b${name}="(\\d+)"`).exec(xml)?.[1] ?? 0);
  const tests = attr("tests");
  const failed = attr("failures") + attr("errors");
  const skipped = attr("skipped");
  return { passed: tests - failed - skipped, failed, skipped };
}

const grand: Totals = { passed: 0, failed: 0, skipped: 0 };
const lines: string[] = [];
const failures: string[] = [];
rmSync(RESULTS, { recursive: true, force: true });
mkdirSync(RESULTS, { recursive: true });

for (const tier of TIERS) {
  if (only && !only.has(tier.name)) continue;
  const reason = tier.unavailable?.();
  if (reason) {
    console.error(`\n!!! TIER ${tier.name.toUpperCase()} CANNOT RUN HERE: ${reason}\n`);
    grand.skipped += 1;
    lines.push(`${tier.name}: NOT RUN (${reason})`);
    continue;
  }
  for (const stale of tier.reports()) rmSync(stale, { force: true });
  const tierStarted = Date.now();
  const status = tier.run();
  const totals: Totals = { passed: 0, failed: 0, skipped: 0 };
  for (const file of tier.reports()) {
    if (file.endsWith(".json") && file !== join(RESULTS, "e2e.json")) failures.push(...vitestFailures(file));
    const t = file.endsWith(".xml") ? junitTotals(file) : vitestTotals(file);
    totals.passed += t.passed;
    totals.failed += t.failed;
    totals.skipped += t.skipped;
  }
  // A runner that exited non-zero without a failed test (crash, lint of config) is a failure too.
  if (status !== 0 && totals.failed === 0) totals.failed += 1;
  if (status === 0 && totals.passed === 0) {
    console.error(`tier ${tier.name} ran no test`);
    totals.failed += 1;
  }
  grand.passed += totals.passed;
  grand.failed += totals.failed;
  grand.skipped += totals.skipped;
  lines.push(`${tier.name}: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped (${((Date.now() - tierStarted) / 1000).toFixed(0)} s)`);
}

if (process.env.GITHUB_STEP_SUMMARY) {
  const shown = failures.slice(0, 50).map((f) => `- ${f}`);
  const more = failures.length > shown.length ? [`- ... and ${failures.length - shown.length} more`] : [];
  appendFileSync(
    process.env.GITHUB_STEP_SUMMARY,
    ["### Test tiers", "", ...lines.map((l) => `- ${l}`), "", `**${grand.passed} passed, ${grand.failed} failed, ${grand.skipped} skipped**`, "", ...(failures.length ? ["Failed tests:", ...shown, ...more, ""] : [])].join("\n") + "\n",
  );
}

console.log(`\n${lines.join("\n")}`);
console.log(`${grand.passed} passed, ${grand.failed} failed, ${grand.skipped} skipped`);
process.exitCode = grand.failed > 0 ? 1 : 0;
