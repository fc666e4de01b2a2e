/**
 * The Cloud SQL Auth Proxy path, as GKE users run it, with a stand-in built here in place of
 * Google's image (e2e/images/cloudsql-proxy-standin: a TCP forwarder that takes the real
 * proxy's flags and health endpoints, forwarding to the e2e's PostgreSQL). A side release with
 * cloudSqlProxy.enabled and no database.host proves:
 *   - the migration Job completes through the proxy (its native sidecar does not hold it open);
 *   - the server and the Job are given 127.0.0.1 as the database host, and the only database
 *     connections the server makes go through the sidecar (its log names each client, all on
 *     loopback), while a REST write and read succeed;
 *   - all of it runs in the e2e namespace, which enforces the restricted Pod Security Standard
 *     (a non-compliant pod is refused there by a server-side dry run).
 */
import { strict as assert } from "node:assert";
import { AppsV1Api, type V1Container, type V1PodSpec } from "@kubernetes/client-node";
import { MlflowClient } from "@mlflow-k8s/mlflow-client";
import YAML from "yaml";
import { need, type Ctx } from "../context.ts";
import { applySecret, serverPods, type Kube } from "../kube.ts";
import { captureMigrationJob } from "../migration-job.ts";
import { CHART, sideReleaseUrl } from "./install.ts";
import { sideRelease } from "./side-release.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
export const STANDIN_CONTEXT = `${ROOT}e2e/images/cloudsql-proxy-standin`;
export const STANDIN_IMAGE = "mlflow-k8s/cloudsql-proxy-standin:1";
/** What users put in cloudSqlProxy.instanceConnectionName; the stand-in only logs it. */
const INSTANCE = "mlflow-k8s-e2e:europe-west1:standin";
const SIDECAR = "cloud-sql-proxy";

/** Builds the stand-in (FROM the provider's Debian base where no registry is reachable) and makes it pullable. */
async function standinImage(ctx: Ctx): Promise<string> {
  const provider = need(ctx, "provider", "preflight");
  if (!provider.buildImage) throw new Error(`provider ${provider.name} cannot build the Cloud SQL Auth Proxy stand-in (existing: give --registry), or --skip cloudsql-proxy`);
  await provider.buildImage({ context: STANDIN_CONTEXT, tag: STANDIN_IMAGE });
  return provider.loadImage(STANDIN_IMAGE);
}

/** The database host the `mlflow` container of a pod spec is given, and its proxy sidecar. */
function dbWiring(spec: V1PodSpec | undefined, what: string): { dbHost: string | undefined; sidecar: V1Container } {
  const main = spec?.containers.find((c) => c.name === "mlflow" || c.name === "migrate") ?? spec?.containers[0];
  const sidecar = spec?.initContainers?.find((c) => c.name === SIDECAR);
  assert.ok(sidecar, `${what} has no ${SIDECAR} init container`);
  assert.equal(sidecar.restartPolicy, "Always", `${what}: the proxy is a native sidecar (restartPolicy Always)`);
  return { dbHost: main?.env?.find((e) => e.name === "DB_HOST")?.value, sidecar };
}

/** A pod the restricted standard refuses (privileged); a server-side dry run, so nothing is created. */
async function restrictedRefusal(kube: Kube, namespace: string): Promise<string> {
  try {
    await kube.core.createNamespacedPod({
      namespace,
      dryRun: "All",
      body: { metadata: { name: "pss-probe" }, spec: { containers: [{ name: "c", image: "pss-probe:1", securityContext: { privileged: true } }] } },
    });
  } catch (e) {
    const raw = (e as { body?: unknown }).body ?? (e as Error).message;
    let body = typeof raw === "string" ? raw : JSON.stringify(raw);
    try {
      body = String((JSON.parse(body) as { message?: string }).message ?? body);
    } catch {
      // not JSON: keep the text
    }
    const reason = /violates PodSecurity "[^"]+": [^(]+/.exec(body)?.[0]?.trim();
    assert.ok(reason, `the privileged dry-run pod was refused, but not by Pod Security: ${body.slice(0, 300)}`);
    return reason;
  }
  throw new Error(`namespace ${namespace} admitted a privileged pod: the restricted Pod Security Standard is not enforced`);
}

export async function cloudSqlProxy(ctx: Ctx): Promise<void> {
  const db = need(ctx, "db", "dependencies").connection;
  const image = await standinImage(ctx);
  const at = image.lastIndexOf(":");
  const forwardTo = `${db.host}:${db.port}`;
  ctx.log(`  stand-in proxy image ${image}, forwarding to PostgreSQL ${forwardTo}`);
  const side = await sideRelease(ctx, "proxy", (values) => {
    // No host: the chart points the server and the Job at the sidecar on 127.0.0.1.
    values.database = { ...values.database, host: "", existingSecret: `${ctx.opts.release}-proxy-db-password`, existingSecretKey: "password" };
    values.cloudSqlProxy = {
      enabled: true,
      instanceConnectionName: INSTANCE,
      image: { repository: image.slice(0, at), tag: image.slice(at + 1) },
      extraArgs: [`--forward-to=${forwardTo}`],
    };
    (values as Record<string, unknown>).replicaCount = 1;
  });
  const { tools, kube, namespace: ns, release, helmArgs } = side;
  await applySecret(kube, ns, `${release}-db-password`, { password: side.password });
  try {
    const capture = captureMigrationJob(kube, tools, ns, release);
    let captured = "";
    try {
      await tools.helm(["install", release, CHART, ...helmArgs]);
    } finally {
      captured = await capture.stop();
    }
    assert.match(captured, /migration done/, "the migration Job's log shows the migration done");
    assert.match(captured, /client connection accepted.*"client": "127\.0\.0\.1:/, "the migration Job's sidecar forwarded the Job's connection from 127.0.0.1");
    const hooks = (await tools.helm(["get", "hooks", release, "-n", ns])).stdout;
    const job = YAML.parseAllDocuments(hooks).map((d) => d.toJS() as { kind?: string; spec?: { template?: { spec?: V1PodSpec } } }).find((o) => o?.kind === "Job");
    const jobWiring = dbWiring(job?.spec?.template?.spec, "the migration Job (helm get hooks)");
    assert.equal(jobWiring.dbHost, "127.0.0.1", "the migration Job's DB_HOST");
    ctx.log(`  migration Job completed through the sidecar proxy (native sidecar; DB_HOST ${jobWiring.dbHost}); helm install --wait returned`);

    const deployment = (await kube.kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: ns, labelSelector: `app.kubernetes.io/instance=${release}` })).items[0];
    const server = dbWiring(deployment?.spec?.template.spec, "the server Deployment");
    assert.equal(server.dbHost, "127.0.0.1", "the server's DB_HOST");
    assert.equal(server.sidecar.image, image, "the sidecar runs the stand-in image");

    const url = await sideReleaseUrl(ctx, ns, release);
    const client = new MlflowClient({ baseUrl: url, retries: 3 });
    const experimentId = await client.createExperiment(`proxy-${Date.now()}`);
    const { info } = await client.createRun({ experimentId, runName: "through-the-proxy" });
    await client.logParam(info.run_id, "db", "via 127.0.0.1");
    const run = await client.getRun(info.run_id);
    assert.deepEqual(run.data.params, [{ key: "db", value: "via 127.0.0.1" }], "param read back through the proxy");

    const [pod] = await serverPods(kube, ns, release);
    const name = pod?.metadata?.name ?? "";
    const sidecarLog = (await tools.kubectl(["logs", "-n", ns, name, "-c", SIDECAR])).stdout;
    const clients = [...sidecarLog.matchAll(/"message": "client connection accepted".*?"client": "([^"]+)"/g)].map((m) => m[1] ?? "");
    assert.ok(clients.length > 0, `the server's sidecar forwarded no connection; its log:\n${sidecarLog.slice(-1500)}`);
    assert.deepEqual(clients.filter((c) => !c.startsWith("127.0.0.1:")), [], "every connection the sidecar forwarded came from loopback");
    ctx.log(`  ${release} at ${url}: DB_HOST 127.0.0.1; run ${info.run_id} written and read back; ${name}'s sidecar forwarded ${clients.length} connection(s), all from 127.0.0.1`);

    const nsLabels = (await kube.core.readNamespace({ name: ns })).metadata?.labels ?? {};
    assert.equal(nsLabels["pod-security.kubernetes.io/enforce"], "restricted", `namespace ${ns} enforces restricted`);
    ctx.log(`  namespace ${ns} enforces restricted (a privileged dry-run pod: "${await restrictedRefusal(kube, ns)}"); the proxy's pods run there`);
  } finally {
    await side.remove();
    await kube.core.deleteNamespacedSecret({ name: `${release}-db-password`, namespace: ns }).catch(() => undefined);
  }
}
