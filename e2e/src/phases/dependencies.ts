/**
 * Phase 4: what lives outside the chart, as Cloud SQL and GCS do in production:
 * a real PostgreSQL and a GCS emulator with a bucket, on an address of this
 * machine that the cluster's pods can reach.
 */
import { randomBytes } from "node:crypto";
import { startGcsEmulator, startPostgres } from "@mlflow-k8s/testbed";
import { BUCKET, need, type Ctx } from "../context.ts";

// URL-special characters, and ' " \ so that the URL-encoded (Python quote), JSON-escaped and raw forms all differ.
export const newPassword = () => `e2e-${randomBytes(12).toString("base64url")}@:/?#%'"\\`;

export async function dependencies(ctx: Ctx): Promise<void> {
  const cluster = need(ctx, "cluster", "cluster");
  const host = cluster.hostAddressForPods;
  if (!host) throw new Error(`provider ${ctx.provider?.name} does not say which address of this machine its pods reach, so PostgreSQL and the GCS emulator cannot be placed: pass --host-address <ip> (an address of this machine routable from the pods)`);
  ctx.db = await startPostgres({ host, database: "mlflow", user: "mlflow", password: ctx.dbPassword });
  ctx.log(`  PostgreSQL ${ctx.db.connection.host}:${ctx.db.connection.port} (database mlflow, user mlflow)`);
  ctx.gcs = await startGcsEmulator({ host, bucket: BUCKET });
  ctx.log(`  GCS emulator ${ctx.gcs.url} with bucket ${BUCKET}`);
}
