/** Phases 5-7: values from packages/values, the DB Secret through the API, `helm install --wait`, the endpoint. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildChartValues, parseGeneratorInput, renderValuesFile } from "@mlflow-k8s/values";
import { MlflowClient } from "@mlflow-k8s/mlflow-client";
import { BUCKET, DB_SECRET, need, type Ctx } from "../context.ts";
import { chooseAccess, releaseUrl } from "../access.ts";
import { applySecret, ensureNamespace, serverPods } from "../kube.ts";
import { CHART, releaseChart } from "../release.ts";

export { CHART };

/**
 * Where the cluster has a registry (kind), the chart is released the way release.yml releases
 * it (release.ts: helm package, helm push to oci://<registry>/charts, helm pull back and
 * compare) and installed from there. Elsewhere, from the local directory.
 */
export async function chart(ctx: Ctx): Promise<void> {
  const registry = ctx.cluster?.registry;
  if (!registry) {
    ctx.chart = [CHART];
    ctx.log(`  no registry in this cluster: installing from ${CHART}`);
    return;
  }
  const released = await releaseChart(`oci://${registry}/charts`, { plainHttp: true, log: (line) => ctx.log(`  ${line}`) });
  ctx.chart = [released.ref, "--version", released.version, "--plain-http"];
}

/** helm's chart arguments for install/upgrade (the chart phase chose them). */
export function chartArgs(ctx: Ctx): string[] {
  return ctx.chart ?? [CHART];
}

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
      // Where the provider publishes one NodePort on loopback (kind), MLflow's Service takes it.
      ...(ctx.cluster?.nodePorts?.[0] ? { nodePort: ctx.cluster.nodePorts[0] } : {}),
      // Two replicas prove the migration hook keeps them from racing on the empty database;
      // one worker each and small requests keep a rolling update within two cores.
      replicas: 2,
      workers: 1,
      cpuRequest: "100m",
      memoryRequest: "384Mi",
    }),
  );
  if (!secret) throw new Error("the e2e's values use password auth, so they must name the password Secret");
  // MLflow's Prometheus metrics, as production runs them: the metrics phase scrapes them through the Service.
  values.metrics = { enabled: true };
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
  await tools.helm(["install", ctx.opts.release, ...chartArgs(ctx), "-n", ctx.opts.namespace, ...helmValuesArgs(ctx), "--wait", "--timeout", timeout]);
  ctx.log(`  release ${ctx.opts.release} installed from ${chartArgs(ctx)[0]} and Ready`);
  await logPulledImages(ctx);
}

/** Which image the server pods run and the digest the node pulled: with a registry, the one the image phase pushed there. */
async function logPulledImages(ctx: Ctx): Promise<void> {
  const pods = await serverPods(need(ctx, "kube", "cluster"), ctx.opts.namespace, ctx.opts.release);
  const pulled = new Set(pods.flatMap((p) => (p.status?.containerStatuses ?? []).filter((c) => c.name === "mlflow").map((c) => `${c.image} (${c.imageID})`)));
  ctx.log(`  server pods run ${[...pulled].join(", ") || "no mlflow container yet"}`);
  const registry = ctx.cluster?.registry;
  const foreign = [...pulled].filter((p) => registry && !p.startsWith(`${registry}/`));
  if (foreign.length) throw new Error(`the server pods run ${foreign.join(", ")}, not the image pushed to the cluster's registry ${registry}`);
}

export async function discover(ctx: Ctx): Promise<void> {
  const kube = need(ctx, "kube", "cluster");
  const cluster = need(ctx, "cluster", "cluster");
  const target = { namespace: ctx.opts.namespace, release: ctx.opts.release };
  ctx.access = await chooseAccess(kube, cluster, ctx.opts.access, target, ctx.log);
  const url = await releaseUrl(kube, cluster, ctx.access, target);
  ctx.url = url;
  ctx.client = new MlflowClient({ baseUrl: url, timeoutMs: 20_000, retries: 6, onRetry: (i) => ctx.log(`  retry ${i.attempt} of ${i.request} in ${i.delayMs} ms: ${i.error.message}`) });
  ctx.log(`  MLflow at ${url} (${ctx.access.mode === "proxy" ? "the API server's service proxy, through kubectl proxy on loopback" : "the NodePort"})`);
}

/** The base URL of a side release (the upgrade and proxy phases), reached as the main one is. */
export async function sideReleaseUrl(ctx: Ctx, namespace: string, release: string): Promise<string> {
  return releaseUrl(need(ctx, "kube", "cluster"), need(ctx, "cluster", "cluster"), need(ctx, "access", "discover"), { namespace, release });
}
