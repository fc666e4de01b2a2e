/**
 * Phase 8: MLflow through the NodePort with packages/mlflow-client: the tracking
 * flow, then an artifact upload whose object is found in the bucket through the
 * emulator's own API. `verifyWritten` re-reads it all after upgrade and pod kill.
 */
import { strict as assert } from "node:assert";
import { need, type Ctx, type WrittenData } from "../context.ts";

export async function restChecks(ctx: Ctx): Promise<void> {
  const client = need(ctx, "client", "discover");
  const gcs = need(ctx, "gcs", "dependencies");
  assert.equal((await client.health()).trim(), "OK", "GET /health");
  ctx.log(`  MLflow version ${await client.version()}`);

  const experimentName = `e2e-${Date.now()}`;
  const experimentId = await client.createExperiment(experimentName);
  const runName = "e2e-run";
  const run = await client.createRun({ experimentId, runName, tags: [{ key: "suite", value: "e2e" }] });
  const runId = run.info.run_id;
  const params = { optimizer: "adam", lr: "0.001", layers: "4" };
  for (const [key, value] of Object.entries(params)) await client.logParam(runId, key, value);
  const metricSteps = 25;
  await client.logBatch(runId, {
    metrics: Array.from({ length: metricSteps }, (_, step) => ({ key: "loss", value: 1 / (step + 1), timestamp: Date.now(), step })),
    tags: [{ key: "phase", value: "rest" }],
  });
  await client.logMetric(runId, "accuracy", 0.93, { step: 0 });
  await client.setTag(runId, "owner", "e2e");

  const artifactPath = "reports/summary.txt";
  const artifactBody = `e2e artifact for run ${runId}\n`;
  await client.uploadArtifact(run.info, artifactPath, artifactBody, "text/plain");
  const listed = await client.listArtifacts(run.info, "reports");
  assert.ok(listed.some((f) => f.path === artifactPath), `artifact listed: ${JSON.stringify(listed)}`);
  await client.finishRun(runId);

  // The proxy wrote it to GCS: find the object through the emulator's API, not MLflow's.
  const objects = await gcs.listObjects("mlflow/");
  const object = objects.find((o) => o.name.endsWith(`${runId}/artifacts/${artifactPath}`));
  assert.ok(object, `object for ${artifactPath} in gs://${gcs.bucket}/mlflow/ (found: ${objects.map((o) => o.name).join(", ") || "none"})`);
  assert.equal((await gcs.readObject(object.name)).toString(), artifactBody, "object content in the bucket");
  ctx.log(`  artifact object found in emulator bucket: ${object.uri}`);

  ctx.written = { experimentId, experimentName, runId, runName, params, metricSteps, artifactPath, artifactBody, artifactObject: object.name };
  await verifyWritten(ctx, "right after writing");

  const page = await client.searchRuns({ experimentIds: [experimentId], maxResults: 10 });
  assert.equal(page.items.length, 1, "search finds the run");
}

/** Everything the REST phase wrote is still readable through the NodePort. */
export async function verifyWritten(ctx: Ctx, when: string): Promise<void> {
  const client = need(ctx, "client", "discover");
  const w: WrittenData = need(ctx, "written", "rest");
  const run = await client.getRun(w.runId);
  // restChecks finishes the run before the first verifyWritten: it is FINISHED every time.
  assert.equal(run.info.status, "FINISHED", `run status ${when}`);
  const params = Object.fromEntries((run.data.params ?? []).map((p) => [p.key, p.value]));
  assert.deepEqual(params, w.params, `params ${when}`);
  const metrics = Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, m.value]));
  assert.equal(metrics.loss, 1 / w.metricSteps, `latest loss ${when}`);
  assert.equal(metrics.accuracy, 0.93, `accuracy ${when}`);
  const tags = Object.fromEntries((run.data.tags ?? []).map((t) => [t.key, t.value]));
  assert.equal(tags.owner, "e2e", `tag ${when}`);
  const body = (await client.downloadArtifact(run.info, w.artifactPath)).toString();
  assert.equal(body, w.artifactBody, `artifact ${when}`);
  ctx.log(`  run ${w.runId}: params, metrics, tags and artifact intact ${when}`);
}
