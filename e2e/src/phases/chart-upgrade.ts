/**
 * Chart-to-chart upgrade: the chart at the last git tag (c374c57 while there is none)
 * installed, data written, then `helm upgrade` to this checkout's chart under a steady
 * request stream. A separate release with its own database and existing Secret, so
 * the main release's figures stay its own.
 */
import { strict as assert } from "node:assert";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { MlflowClient } from "@mlflow-k8s/mlflow-client";
import YAML from "yaml";
import { $ } from "zx";
import type { Ctx } from "../context.ts";
import { applySecret, serverPods, waitForReadyPods } from "../kube.ts";
import { startLoad } from "../load.ts";
import { CHART, sideReleaseUrl } from "./install.ts";
import { sideRelease } from "./side-release.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
/** The commit this upgrade starts from while the repository has no release tag. */
export const FALLBACK_BASE = "c374c57";

/** The last tag reachable from HEAD, else FALLBACK_BASE; its chart extracted under `dir`. */
async function baseChart(dir: string): Promise<{ ref: string; path: string; version: string }> {
  const tag = (await $({ quiet: true, nothrow: true })`git -C ${ROOT} describe --tags --abbrev=0`).stdout.trim();
  const ref = tag || FALLBACK_BASE;
  const tar = join(dir, "chart.tar");
  await $({ quiet: true })`git -C ${ROOT} archive --output=${tar} ${ref} charts/mlflow`;
  await $({ quiet: true })`tar -xf ${tar} -C ${dir}`;
  const path = join(dir, "charts/mlflow");
  return { ref, path, version: String((YAML.parse(readFileSync(join(path, "Chart.yaml"), "utf8")) as { version: string }).version) };
}

export async function chartUpgrade(ctx: Ctx): Promise<void> {
  const dir = join(ctx.workDir, "base-chart");
  mkdirSync(dir, { recursive: true });
  const base = await baseChart(dir);
  const head = String((YAML.parse(readFileSync(join(CHART, "Chart.yaml"), "utf8")) as { version: string }).version);
  const side = await sideRelease(ctx, "chart", (values) => {
    // The base chart predates metrics.* (its schema refuses unknown keys); this release does without.
    delete values.metrics;
    values.database = { ...values.database, existingSecret: `${ctx.opts.release}-chart-db-password`, existingSecretKey: "password" };
  });
  const { tools, kube, namespace: ns, release, helmArgs } = side;
  await applySecret(kube, ns, `${release}-db-password`, { password: side.password });
  try {
    await tools.helm(["install", release, base.path, ...helmArgs]);
    const url = await sideReleaseUrl(ctx, ns, release);
    const client = new MlflowClient({ baseUrl: url, retries: 3 });
    const experimentId = await client.createExperiment(`chart-upgrade-${Date.now()}`);
    const { info } = await client.createRun({ experimentId, runName: "before-chart-upgrade" });
    await client.logParam(info.run_id, "chart", base.version);
    await client.logMetric(info.run_id, "loss", 0.25, { step: 3 });
    const body = `written by chart ${base.version}\n`;
    await client.uploadArtifact(info, "chart.txt", body, "text/plain");
    ctx.log(`  ${release} installed from the chart at ${base.ref} (version ${base.version}); a run written`);

    const oldPods = (await serverPods(kube, ns, release)).map((p) => p.metadata?.name ?? "");
    const load = startLoad(url, info.run_id);
    try {
      await tools.helm(["upgrade", release, CHART, ...helmArgs]);
      await waitForReadyPods(kube, { namespace: ns, release, count: oldPods.length, exclude: oldPods, timeoutMs: ctx.opts.timeoutSeconds * 1000 });
      await new Promise((r) => setTimeout(r, 10_000));
    } finally {
      const r = await load.stop();
      ctx.log(`  chart upgrade ${base.version} (${base.ref}) -> ${head} (HEAD): ${r.total} requests, ${r.failed} failed${r.samples.length ? ` (${r.samples.join("; ")})` : ""}`);
      assert.equal(r.failed, 0, `requests failed during the chart upgrade: ${r.samples.join("; ")}`);
    }
    const run = await client.getRun(info.run_id);
    assert.deepEqual(run.data.params, [{ key: "chart", value: base.version }], "param after the chart upgrade");
    assert.equal(run.data.metrics?.find((m) => m.key === "loss")?.value, 0.25, "metric after the chart upgrade");
    assert.equal((await client.downloadArtifact(run.info, "chart.txt")).toString(), body, "artifact after the chart upgrade");
    ctx.log("  run written before the chart upgrade read back intact (param, metric, artifact)");
  } finally {
    await side.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}
