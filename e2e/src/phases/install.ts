/** Phases 5-7: values from packages/values, the DB Secret through the API, `helm install --wait`, the endpoint. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildChartValues, parseGeneratorInput, renderValuesFile } from "@mlflow-k8s/values";
import { MlflowClient } from "@mlflow-k8s/mlflow-client";
import { BUCKET, DB_SECRET, need, type Ctx } from "../context.ts";
import { applySecret, ensureNamespace, mlflowEndpoint } from "../kube.ts";

export const CHART = new URL("../../../charts/mlflow", import.meta.url).pathname;

export async function values(ctx: Ctx): Promise<void> {
  const db = need(ctx, "db", "dependencies").connection;
  const gcs = need(ctx, "gcs", "dependencies");
  const kube = need(ctx, "kube", "cluster");
  const imageRef = need(ctx, "image", "image");
  const at = imageRef.lastIndexOf(":");
  const { values, secret } = buildChartValues(
    parseGeneratorInput({
      gcsUri: `gs://${BUCKET}/mlflow`,
      dbHost: db.host,
      dbPort: db.port,
      dbName: db.database,
      dbUser: db.user,
      dbSslmode: "disable",
      passwordFrom: `secret:${DB_SECRET}:password`,
      release: ctx.opts.release,
      gcsEmulatorHost: gcs.url,
      imageRepository: imageRef.slice(0, at),
      imageTag: imageRef.slice(at + 1),
      imagePullPolicy: "IfNotPresent",
      // Two replicas prove the migration hook keeps them from racing on the empty database;
      // one worker each and small requests keep a rolling update within two cores.
      replicas: 2,
      workers: 1,
      cpuRequest: "100m",
      memoryRequest: "384Mi",
    }),
  );
  if (!secret) throw new Error("the e2e's values use password auth, so they must name the password Secret");
  ctx.valuesFile = join(ctx.workDir, "values.yaml");
  writeFileSync(ctx.valuesFile, renderValuesFile(values));
  ctx.log(`  values written to ${ctx.valuesFile}`);
  // Every e2e install proves the chart runs under the restricted Pod Security Standard.
  await ensureNamespace(kube, ctx.opts.namespace, { "pod-security.kubernetes.io/enforce": "restricted" });
  await applySecret(kube, ctx.opts.namespace, secret.name, { [secret.key]: ctx.dbPassword });
  ctx.log(`  Secret ${ctx.opts.namespace}/${secret.name} created through the API`);
}

export function helmValuesArgs(ctx: Ctx): string[] {
  return ["-f", need(ctx, "valuesFile", "values"), ...(ctx.opts.values ? ["-f", ctx.opts.values] : [])];
}

export async function install(ctx: Ctx): Promise<void> {
  const tools = need(ctx, "tools", "cluster");
  const timeout = `${ctx.opts.timeoutSeconds}s`;
  await tools.helm(["install", ctx.opts.release, CHART, "-n", ctx.opts.namespace, ...helmValuesArgs(ctx), "--wait", "--timeout", timeout]);
  ctx.log(`  release ${ctx.opts.release} installed and Ready`);
}

export async function discover(ctx: Ctx): Promise<void> {
  const kube = need(ctx, "kube", "cluster");
  const endpoint = await mlflowEndpoint(kube, { namespace: ctx.opts.namespace, release: ctx.opts.release, providerHost: ctx.cluster?.nodePortHost });
  ctx.url = endpoint.url;
  ctx.client = new MlflowClient({ baseUrl: endpoint.url, timeoutMs: 20_000, retries: 6, onRetry: (i) => ctx.log(`  retry ${i.attempt} of ${i.request} in ${i.delayMs} ms: ${i.error.message}`) });
  ctx.log(`  MLflow at ${endpoint.url} (node ${endpoint.host}, nodePort ${endpoint.port})`);
}
