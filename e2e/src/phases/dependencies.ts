/**
 * Phase 4: what lives outside the chart, as Cloud SQL and GCS do in production: a real
 * PostgreSQL and a GCS emulator with a bucket. On this machine, at an address the cluster's
 * pods reach (kind, minikube, or existing with --host-address); else inside the cluster
 * (in-cluster-services.ts), for clusters whose nodes cannot reach this machine (GKE).
 */
import { randomBytes } from "node:crypto";
import { startGcsEmulator, startPostgres } from "@mlflow-k8s/testbed";
import { BUCKET, need, type Ctx } from "../context.ts";
import { servicesImage, startInClusterServices } from "../in-cluster-services.ts";

// URL-special characters, and ' " \ so that the URL-encoded (Python quote), JSON-escaped and raw forms all differ.
export const newPassword = () => `e2e-${randomBytes(12).toString("base64url")}@:/?#%'"\\`;

/** Where the services run: as asked, or (auto) on this machine when the provider names an address pods reach. */
export function servicesPlacement(wanted: Ctx["opts"]["services"], hostAddressForPods: string | undefined): "host" | "cluster" {
  return wanted === "auto" ? (hostAddressForPods ? "host" : "cluster") : wanted;
}

export async function dependencies(ctx: Ctx): Promise<void> {
  const cluster = need(ctx, "cluster", "cluster");
  const host = cluster.hostAddressForPods;
  if (servicesPlacement(ctx.opts.services, host) === "cluster") {
    const namespace = `${ctx.opts.namespace}-services`;
    const image = await servicesImage(need(ctx, "provider", "preflight"), ctx.workDir);
    const services = await startInClusterServices({
      tools: need(ctx, "tools", "cluster"),
      kube: need(ctx, "kube", "cluster"),
      namespace,
      image,
      bucket: BUCKET,
      database: "mlflow",
      user: "mlflow",
      password: ctx.dbPassword,
      timeoutSeconds: ctx.opts.timeoutSeconds,
      log: ctx.log,
    });
    ctx.db = services.db;
    ctx.gcs = services.gcs;
    ctx.log(`  in the cluster (namespace ${namespace}, image ${image}): PostgreSQL ${ctx.db.connection.host}:${ctx.db.connection.port} (database mlflow, user mlflow), GCS emulator ${ctx.gcs.url} with bucket ${BUCKET}`);
    return;
  }
  if (!host) throw new Error(`provider ${ctx.provider?.name} does not say which address of this machine its pods reach, so PostgreSQL and the GCS emulator cannot run here: pass --host-address <ip> (an address of this machine routable from the pods), or --services cluster`);
  ctx.db = await startPostgres({ host, database: "mlflow", user: "mlflow", password: ctx.dbPassword });
  ctx.log(`  PostgreSQL ${ctx.db.connection.host}:${ctx.db.connection.port} (database mlflow, user mlflow)`);
  ctx.gcs = await startGcsEmulator({ host, bucket: BUCKET });
  ctx.log(`  GCS emulator ${ctx.gcs.url} with bucket ${BUCKET}`);
}
