#!/usr/bin/env node
/**
 * The e2e suite: bring up a cluster, install charts/mlflow, prove MLflow works
 * through the NodePort, upgrade, kill the pod, tear down. `up`/`down` run the
 * first phases for development and leave MLflow running.
 * Usage: pnpm e2e [--provider kind|minikube | --provider existing --context <ctx>] [--keep] [--image ref] [--values file] [--timeout s]
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs, type E2eOptions } from "./args.ts";
import type { Ctx } from "./context.ts";
import { collectDiagnostics } from "./diagnostics.ts";
import { clusterUp, preflight } from "./phases/cluster.ts";
import { dependencies, newPassword } from "./phases/dependencies.ts";
import { image } from "./phases/image.ts";
import { chart, discover, install, values } from "./phases/install.ts";
import { databaseRestart, installWithLateDatabase, security, upgradeUnderLoad } from "./phases/faults.ts";
import { helmTest, podKill, teardown } from "./phases/lifecycle.ts";
import { restChecks } from "./phases/rest.ts";
import { uiCheck } from "./phases/ui.ts";
import { networkPolicy } from "./phases/networkpolicy.ts";
import { storage } from "./phases/storage.ts";
import { previousImage, versionUpgrade } from "./phases/version-upgrade.ts";
import { chartUpgrade } from "./phases/chart-upgrade.ts";
import { cloudSqlProxy } from "./phases/cloudsql-proxy.ts";
import { metrics } from "./phases/metrics.ts";
import { runPhases, summary, toReport, type Phase } from "./runner.ts";

const log = (line: string) => process.stderr.write(`[e2e] ${line}\n`);

export const RUN_PHASES: Phase<Ctx>[] = [
  { name: "preflight", does: "check helm, kubectl and the cluster provider's tools", run: preflight },
  { name: "cluster", does: "bring up (or reuse) the cluster", run: clusterUp },
  { name: "image", does: "build the MLflow image and load it into the cluster", run: image },
  { name: "chart", does: "release the chart as release.yml does (release.ts: helm package, push, pull back) to the cluster's OCI registry (kind); else the local chart", run: chart },
  { name: "storage", does: "the default StorageClass provisions a volume a pod writes and reads; deleting it releases the volume", run: storage },
  { name: "previous-image", does: "build the previous MLflow image (requirements-previous.txt) and load it", run: previousImage },
  { name: "dependencies", does: "start PostgreSQL and a GCS emulator with a bucket where pods reach them: on this machine, or (--services cluster) in a namespace of their own in the cluster", run: dependencies },
  { name: "values", does: "generate values with packages/values; create the DB Secret through the API", run: values },
  { name: "install", does: "helm install --wait while the database is down; the migration hook waits, then Ready", run: (c) => installWithLateDatabase(c, install) },
  { name: "discover", does: "find how this machine reaches MLflow: the NodePort, else (or --access proxy) the API server's service proxy via kubectl proxy", run: discover },
  { name: "rest", does: "tracking flow and artifact upload through the NodePort; object found in the bucket", run: restChecks },
  { name: "metrics", does: "GET /metrics through the NodePort (metrics.enabled): MLflow's request counter mlflow_http_request_total counts the calls", run: metrics },
  { name: "ui", does: "MLflow's web UI through the NodePort in headless Chromium: the experiment and run from rest, no console errors, no request off the NodePort; screenshot", run: uiCheck },
  { name: "helm-test", does: "helm test", run: helmTest },
  { name: "security", does: "restricted namespace, the password in no object or log, UID 10001", run: security },
  { name: "network-policy", does: "NetworkPolicy on: an unlisted namespace gets no answer, a listed one does; PostgreSQL and the bucket still reached", run: networkPolicy },
  { name: "cloudsql-proxy", does: "side release through a Cloud SQL Auth Proxy stand-in sidecar: the migration Job completes, the server reaches PostgreSQL only via 127.0.0.1, restricted namespace", run: cloudSqlProxy },
  { name: "upgrade", does: "helm upgrade that rolls every pod under a steady stream of requests: 0 failures", run: upgradeUnderLoad },
  { name: "version-upgrade", does: "helm upgrade from the previous MLflow image under MLflow's Python client (writes + reads, keep-alive): 0 failures, data intact", run: versionUpgrade },
  { name: "chart-upgrade", does: "helm upgrade from the chart at the last tag (else c374c57) to this chart under a steady request stream: 0 failures, data intact", run: chartUpgrade },
  { name: "db-restart", does: "restart PostgreSQL mid-run: brief failures, recovery without a pod restart", run: databaseRestart },
  { name: "pod-kill", does: "delete the MLflow pod, wait for its replacement; data still there", run: podKill },
];

async function run(opts: E2eOptions): Promise<number> {
  const ctx: Ctx = { opts, log, workDir: mkdtempSync(join(tmpdir(), "mlflow-e2e-")), dbPassword: newPassword() };
  const started = performance.now();
  const results = await runPhases(RUN_PHASES, ctx, log, opts.skip);
  const failed = results.find((r) => r.status === "failed");
  if (failed && ctx.tools) {
    await collectDiagnostics(ctx.tools, { dir: resolve(opts.artifactsDir), namespace: opts.namespace, release: opts.release, secrets: [ctx.dbPassword], log }).catch((e) =>
      log(`could not collect diagnostics: ${(e as Error).message}`),
    );
  }
  const [down] = await runPhases([{ name: "teardown", does: "uninstall, stop the dependencies, cluster down unless --keep", run: teardown }], ctx, log);
  if (down) results.push(down);
  log(`summary (${((performance.now() - started) / 1000).toFixed(0)} s):\n${summary(results)}`);
  if (failed) log(`FAILED in phase ${failed.name}: ${failed.error}`);
  if (opts.report) {
    mkdirSync(dirname(resolve(opts.report)), { recursive: true });
    writeFileSync(resolve(opts.report), JSON.stringify(toReport(results), null, 2));
  }
  return results.some((r) => r.status !== "passed") ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  let opts: E2eOptions;
  try {
    opts = parseArgs(argv);
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    if (code === "commander.helpDisplayed" || code === "commander.help") return 0;
    if (!code.startsWith("commander.")) process.stderr.write(`e2e: ${(error as Error).message}\n`);
    return 2;
  }
  if (opts.command === "run") {
    const unknown = opts.skip.filter((name) => !RUN_PHASES.some((p) => p.name === name));
    if (unknown.length) {
      process.stderr.write(`e2e: --skip names unknown phase(s) ${unknown.join(", ")}; phases: ${RUN_PHASES.map((p) => p.name).join(", ")}\n`);
      return 2;
    }
    return run(opts);
  }
  const { up, down } = await import("./dev.ts");
  return opts.command === "up" ? up(opts) : down(opts);
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
