/**
 * Production behaviour under faults, each proven on the real cluster with its
 * figure printed: an upgrade under load, a database restart mid-run, and the
 * security checks (restricted namespace, no password anywhere, non-root UID).
 */
import { strict as assert } from "node:assert";
import { need, type Ctx } from "../context.ts";
import { serverPods, waitForReadyPods } from "../kube.ts";
import { startLoad } from "../load.ts";
import { chartArgs, helmValuesArgs } from "./install.ts";
import { verifyWritten } from "./rest.ts";

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
  const before = (await serverPods(need(ctx, "kube", "cluster"), ctx.opts.namespace, ctx.opts.release)).map((p) => p.metadata?.name ?? "");
  const load = startLoad(need(ctx, "url", "discover"), written.runId);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  try {
    await tools.helm([
      "upgrade", ctx.opts.release, ...chartArgs(ctx), "-n", ctx.opts.namespace, ...helmValuesArgs(ctx),
      "--set-string", `podAnnotations.e2e/rolled-at=${stamp}`, "--wait", "--timeout", `${ctx.opts.timeoutSeconds}s`,
    ]);
    await waitForReadyPods(need(ctx, "kube", "cluster"), { namespace: ctx.opts.namespace, release: ctx.opts.release, count: before.length, exclude: before, timeoutMs: ctx.opts.timeoutSeconds * 1000 });
    // Keep the stream going a little past the rollout: the old pods' endpoints leave last.
    await new Promise((r) => setTimeout(r, 10_000));
  } finally {
    const r = await load.stop();
    ctx.log(`  upgrade under load: ${r.total} requests, ${r.failed} failed${r.samples.length ? ` (${r.samples.join("; ")})` : ""}`);
    assert.equal(r.failed, 0, `requests failed during the rolling upgrade: ${r.samples.join("; ")}`);
  }
  await verifyWritten(ctx, "after helm upgrade");
}

/** Restart PostgreSQL mid-run: requests fail briefly, then recover without a pod restart. */
export async function databaseRestart(ctx: Ctx): Promise<void> {
  const db = need(ctx, "db", "dependencies");
  const written = need(ctx, "written", "rest");
  const restartsBefore = await restarts(ctx);
  const load = startLoad(need(ctx, "url", "discover"), written.runId, { workers: 1, pauseMs: 200 });
  await new Promise((r) => setTimeout(r, 2000));
  await db.stop();
  ctx.log("  PostgreSQL stopped");
  await new Promise((r) => setTimeout(r, 8000));
  const restartedAt = performance.now();
  await db.start();
  ctx.log("  PostgreSQL started again");
  const client = need(ctx, "client", "discover");
  // Poll until get-run succeeds; the figure is time from database start to the first success.
  let recoveredMs = -1;
  for (let i = 0; i < 600 && recoveredMs < 0; i++) {
    try {
      await client.getRun(written.runId);
      recoveredMs = performance.now() - restartedAt;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const r = await load.stop();
  ctx.log(`  database restart: ${r.failed} of ${r.total} requests failed during the outage; recovered ${(recoveredMs / 1000).toFixed(1)} s after the database came back`);
  assert.ok(recoveredMs >= 0, "MLflow did not recover after the database came back");
  assert.ok(r.failed > 0, "no request failed while the database was down: the outage was not exercised");
  assert.deepEqual(await restarts(ctx), restartsBefore, "pod restart counts changed: the server crashed instead of recovering");
  await verifyWritten(ctx, "after the database restart");
}

/** The namespace enforces the restricted Pod Security Standard; the password is nowhere; the server runs as UID 10001. */
export async function security(ctx: Ctx): Promise<void> {
  const kube = need(ctx, "kube", "cluster");
  const tools = need(ctx, "tools", "cluster");
  const ns = await kube.core.readNamespace({ name: ctx.opts.namespace });
  assert.equal(ns.metadata?.labels?.["pod-security.kubernetes.io/enforce"], "restricted", "namespace is labelled restricted");

  const places: [string, string[]][] = [
    ["ConfigMaps", ["get", "configmaps", "-n", ctx.opts.namespace, "-o", "yaml"]],
    ["pod specs (args, env)", ["get", "pods", "-n", ctx.opts.namespace, "-o", "yaml"]],
    ["Deployments and Jobs", ["get", "deployments,jobs", "-n", ctx.opts.namespace, "-o", "yaml"]],
    ["events", ["get", "events", "-n", ctx.opts.namespace, "-o", "yaml"]],
    ["pod logs", ["logs", "-n", ctx.opts.namespace, "-l", `app.kubernetes.io/instance=${ctx.opts.release}`, "--all-containers", "--tail=-1"]],
  ];
  for (const [what, args] of places) {
    const text = (await tools.kubectl(args)).stdout;
    assert.ok(!text.includes(ctx.dbPassword), `the DB password appears in ${what}`);
  }
  const helmValues = (await tools.helm(["get", "values", ctx.opts.release, "-n", ctx.opts.namespace, "--all"])).stdout;
  assert.ok(!helmValues.includes(ctx.dbPassword), "the DB password appears in the release's values");
  ctx.log(`  password found in none of: ${[...places.map(([w]) => w), "helm get values"].join(", ")}`);

  const [pod] = await serverPods(kube, ctx.opts.namespace, ctx.opts.release);
  const uid = (await tools.kubectl(["exec", "-n", ctx.opts.namespace, pod?.metadata?.name ?? "", "-c", "mlflow", "--", "id", "-u"])).stdout.trim();
  assert.equal(uid, "10001", "the server's UID");
  ctx.log(`  server runs as UID ${uid} in a namespace enforcing the restricted Pod Security Standard`);
}

/**
 * Install while the database is down: the migration hook waits (no crash loop),
 * and the release becomes Ready once the database is back.
 */
export async function installWithLateDatabase(ctx: Ctx, install: (ctx: Ctx) => Promise<void>): Promise<void> {
  const db = need(ctx, "db", "dependencies");
  const kube = need(ctx, "kube", "cluster");
  await db.stop();
  ctx.log("  PostgreSQL stopped before helm install");
  const installing = install(ctx);
  installing.catch(() => undefined);
  await new Promise((r) => setTimeout(r, 20_000));
  const pods = await kube.core.listNamespacedPod({ namespace: ctx.opts.namespace });
  const restartsWhileDown = pods.items.flatMap((p) => p.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0);
  const waiting = pods.items.map((p) => `${p.metadata?.name}=${p.status?.phase}`).join(", ");
  ctx.log(`  after 20 s without a database: ${waiting || "no pods yet"}; ${restartsWhileDown} container restarts`);
  assert.equal(restartsWhileDown, 0, "containers restarted while the database was down (crash loop)");
  const startedAt = performance.now();
  await db.start();
  ctx.log("  PostgreSQL started");
  await installing;
  ctx.log(`  release Ready ${((performance.now() - startedAt) / 1000).toFixed(1)} s after the database came back`);
}
