/**
 * Production behaviour under faults, each proven on the real cluster with its
 * figure printed: an upgrade under load, a database restart mid-run, and the
 * security checks (restricted namespace, no password anywhere, non-root UID).
 */
import { strict as assert } from "node:assert";
import { waitFor } from "@mlflow-k8s/cluster";
import { need, type Ctx } from "../context.ts";
import { serverPods, waitForReadyPods } from "../kube.ts";
import { startLoad } from "../load.ts";
import { captureMigrationJob, judgeWaitingMigration, migrationJobState } from "../migration-job.ts";
import { assertPasswordNowhere, namespacePlaces, type Place } from "../password-search.ts";
import { podGet } from "../api-proxy.ts";
import { analyseRecovery, type Sample } from "../recovery.ts";
import { chartArgs, helmValuesArgs } from "./install.ts";
import { verifyWritten } from "./rest.ts";

/** The migration Job and its logs, captured during install (helm deletes the Job once it succeeds). */
const installHookCapture = new WeakMap<Ctx, string>();

const restarts = async (ctx: Ctx) =>
  Object.fromEntries(
    (await serverPods(need(ctx, "kube", "cluster"), ctx.opts.namespace, ctx.opts.release)).map((p) => [
      p.metadata?.name ?? "",
      (p.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
    ]),
  );

/** helm upgrade that rolls every pod while a steady stream of get-run calls runs; the goal is 0 failures. */
export async function upgradeUnderLoad(ctx: Ctx): Promise<void> {
  const tools = need(ctx, "tools", "cluster");
  const written = need(ctx, "written", "rest");
  const pods = await serverPods(need(ctx, "kube", "cluster"), ctx.opts.namespace, ctx.opts.release);
  const before = pods.map((p) => p.metadata?.name ?? "");
  // As many new pods as there are live ones now (a pod still terminating from an earlier rollout is not replaced).
  const replicas = pods.filter((p) => !p.metadata?.deletionTimestamp).length;
  const load = startLoad(need(ctx, "url", "discover"), written.runId);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  try {
    await tools.helm([
      "upgrade", ctx.opts.release, ...chartArgs(ctx), "-n", ctx.opts.namespace, ...helmValuesArgs(ctx),
      "--set-string", `podAnnotations.e2e/rolled-at=${stamp}`, "--wait", "--timeout", `${ctx.opts.timeoutSeconds}s`,
    ]);
    await waitForReadyPods(need(ctx, "kube", "cluster"), { namespace: ctx.opts.namespace, release: ctx.opts.release, count: replicas, exclude: before, timeoutMs: ctx.opts.timeoutSeconds * 1000 });
    // Keep the stream going a little past the rollout: the old pods' endpoints leave last.
    await new Promise((r) => setTimeout(r, 10_000));
  } finally {
    const r = await load.stop();
    ctx.log(`  upgrade under load: ${r.total} requests, ${r.failed} failed${r.samples.length ? ` (${r.samples.join("; ")})` : ""}`);
    assert.equal(r.failed, 0, `requests failed during the rolling upgrade: ${r.samples.join("; ")}`);
  }
  await verifyWritten(ctx, "after helm upgrade");
}

/**
 * Restart PostgreSQL mid-run. Every server pod is polled on its own (through the API
 * server's pod proxy, one request at a time, no retries); the clock starts when
 * PostgreSQL accepts connections again. Reports each pod's longest error window and
 * recovery; fails on any error after a pod recovered, and on a pod restart.
 */
export async function databaseRestart(ctx: Ctx): Promise<void> {
  const db = need(ctx, "db", "dependencies");
  const kube = need(ctx, "kube", "cluster");
  const written = need(ctx, "written", "rest");
  const restartsBefore = await restarts(ctx);
  const pods = (await serverPods(kube, ctx.opts.namespace, ctx.opts.release)).map((p) => p.metadata?.name ?? "");
  const samples: Sample[] = [];
  let polling = true;
  const poll = async (name: string) => {
    while (polling) {
      const start = performance.now();
      try {
        const res = await podGet(kube, { namespace: ctx.opts.namespace, name, port: 5000 }, `/api/2.0/mlflow/runs/get?run_id=${written.runId}`);
        const ok = res.status === 200 && res.body.includes(written.runId);
        samples.push({ pod: name, start, end: performance.now(), ok, ...(ok ? {} : { error: `HTTP ${res.status} ${res.body.slice(0, 120)}` }) });
      } catch (error) {
        samples.push({ pod: name, start, end: performance.now(), ok: false, error: (error as Error).message });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const pollers = pods.map(poll);
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let report;
  try {
    await pause(3000);
    const stoppedAt = performance.now();
    await db.stop();
    ctx.log(`  PostgreSQL stopped; polling ${pods.join(", ")} through the API server's pod proxy`);
    await pause(8000);
    await db.start();
    // start() returns at the first successful pg_isready: PostgreSQL accepts connections.
    const acceptedAt = performance.now();
    ctx.log("  PostgreSQL accepts connections again");
    const deadline = acceptedAt + ctx.opts.timeoutSeconds * 1000;
    while (performance.now() < deadline && pods.some((pod) => !samples.some((s) => s.pod === pod && s.ok && s.start >= acceptedAt))) await pause(200);
    // Keep polling well past recovery: a stale pooled connection fails on its first use.
    await pause(15_000);
    polling = false;
    await Promise.all(pollers);
    report = analyseRecovery(samples, { stoppedAt, acceptedAt });
  } finally {
    polling = false;
    await Promise.all(pollers);
  }
  for (const p of report.pods) {
    ctx.log(`  ${p.pod}: ${p.requests} requests, ${p.failures} failed; longest error window ${(p.longestErrorWindowMs / 1000).toFixed(1)} s; ` +
      `recovered ${p.recoveredMs === undefined ? "never" : `${(p.recoveredMs / 1000).toFixed(2)} s`} after PostgreSQL accepted connections`);
  }
  ctx.log(`  database restart: longest error window ${(report.longestErrorWindowMs / 1000).toFixed(1)} s; every pod recovered within ` +
    `${report.slowestRecoveryMs === undefined ? "(not all recovered)" : `${(report.slowestRecoveryMs / 1000).toFixed(2)} s`}; 0 errors after recovery required`);
  assert.deepEqual(report.problems, [], `database restart: ${report.problems.join("; ")}`);
  assert.deepEqual(await restarts(ctx), restartsBefore, "pod restart counts changed: the server crashed instead of recovering");
  await verifyWritten(ctx, "after the database restart");
}

/** The namespace enforces the restricted Pod Security Standard; the password is nowhere; the server runs as UID 10001. */
export async function security(ctx: Ctx): Promise<void> {
  const kube = need(ctx, "kube", "cluster");
  const tools = need(ctx, "tools", "cluster");
  const ns = await kube.core.readNamespace({ name: ctx.opts.namespace });
  assert.equal(ns.metadata?.labels?.["pod-security.kubernetes.io/enforce"], "restricted", "namespace is labelled restricted");

  // This release takes the password from an existing Secret (the chart-created Secret is
  // exercised by the version-upgrade phase). helm's values hold only the Secret's name here.
  const helmValues = (await tools.helm(["get", "values", ctx.opts.release, "-n", ctx.opts.namespace, "--all", "-o", "json"])).stdout;
  const places: Place[] = [
    ...(await namespacePlaces(tools, ctx.opts.namespace)),
    ["helm get values", helmValues],
    ["the migration Job, its pod and logs (captured during install)", installHookCapture.get(ctx) ?? ""],
  ];
  assert.ok(installHookCapture.get(ctx)?.includes("migration done"), "the migration Job's log was captured during install");
  ctx.log(`  password (raw, URL-encoded, base64, JSON-escaped, sha256) found in none of: ${assertPasswordNowhere(ctx.dbPassword, places).join(", ")}`);

  const [pod] = await serverPods(kube, ctx.opts.namespace, ctx.opts.release);
  const uid = (await tools.kubectl(["exec", "-n", ctx.opts.namespace, pod?.metadata?.name ?? "", "-c", "mlflow", "--", "id", "-u"])).stdout.trim();
  assert.equal(uid, "10001", "the server's UID");
  ctx.log(`  server runs as UID ${uid} in a namespace enforcing the restricted Pod Security Standard`);
}

/**
 * Install while the database is down: the migration hook waits in its one pod (no
 * crash, no new pod, backoff untouched), and the release becomes Ready once the
 * database is back. The Job and its logs are captured for the password search.
 */
export async function installWithLateDatabase(ctx: Ctx, install: (ctx: Ctx) => Promise<void>): Promise<void> {
  const db = need(ctx, "db", "dependencies");
  const kube = need(ctx, "kube", "cluster");
  await db.stop();
  ctx.log("  PostgreSQL stopped before helm install");
  const tools = need(ctx, "tools", "cluster");
  const capture = captureMigrationJob(kube, tools, ctx.opts.namespace, ctx.opts.release);
  const installing = install(ctx);
  let settled = false;
  installing.then(() => (settled = true), () => (settled = true));
  try {
    // The 20 s without a database start when the Job's pod runs: a first pull of the image
    // (kind: from the local registry onto a fresh node) can take longer than that by itself.
    const t0 = performance.now();
    await waitFor("the migration Job's pod to start", ctx.opts.timeoutSeconds * 1000, async () =>
      (await migrationJobState(kube, ctx.opts.namespace, ctx.opts.release)).pods.some((p) => p.status?.phase === "Running") || undefined,
    );
    ctx.log(`  migration pod running ${((performance.now() - t0) / 1000).toFixed(1)} s after helm install started (image pull included)`);
    await new Promise((r) => setTimeout(r, 20_000));
    const state = await migrationJobState(kube, ctx.opts.namespace, ctx.opts.release);
    const phases = state.pods.map((p) => `${p.metadata?.name}=${p.status?.phase}`).join(", ") || "none";
    const job = state.jobs[0];
    ctx.log(`  after 20 s without a database: ${state.jobs.length} migration Job (failed ${job?.status?.failed ?? 0} of backoffLimit ${job?.spec?.backoffLimit}), pods: ${phases}`);
    const problems = judgeWaitingMigration(state);
    assert.deepEqual(problems, [], `the migration hook did not wait for the database in one pod: ${problems.join("; ")}`);
    const startedAt = performance.now();
    await db.start();
    ctx.log("  PostgreSQL started");
    await installing;
    ctx.log(`  release Ready ${((performance.now() - startedAt) / 1000).toFixed(1)} s after the database came back`);
  } finally {
    if (!settled) {
      // A failed check leaves helm waiting on the hook (up to --timeout), holding the cluster:
      // deleting the hook Job makes helm give up now.
      await tools.kubectl(["delete", "jobs", "-n", ctx.opts.namespace, "-l", `app.kubernetes.io/instance=${ctx.opts.release},app.kubernetes.io/component=migration`, "--wait=false"]).nothrow();
      await Promise.race([installing.catch(() => undefined), new Promise((r) => setTimeout(r, 60_000))]);
    }
    installHookCapture.set(ctx, await capture.stop());
  }
  assert.match(installHookCapture.get(ctx) ?? "", /waiting for database .* attempt 1 failed/, "the migration pod's log shows it waiting for the database");
}
