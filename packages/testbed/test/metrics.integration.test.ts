/**
 * Prometheus metrics as the chart's metrics.enabled runs them: `mlflow server
 * --expose-prometheus <dir>` through the entrypoint, with the image's pins (so
 * prometheus-flask-exporter must be installed) and more than one worker (so the
 * multiprocess directory is what /metrics reads).
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowClient } from "@mlflow-k8s/mlflow-client";
import { startGcsEmulator, startMlflowServer, startPostgres, stopAllProcesses, type GcsEmulator, type MlflowServer, type PostgresServer } from "../src/index.ts";

describe("Prometheus metrics (--expose-prometheus)", () => {
  let db: PostgresServer;
  let gcs: GcsEmulator;
  let server: MlflowServer;
  // An empty directory, as the chart's emptyDir is.
  const metricsDir = mkdtempSync(join(tmpdir(), "mlflow-k8s-metrics-"));

  beforeAll(async () => {
    db = await startPostgres();
    gcs = await startGcsEmulator();
    server = await startMlflowServer({
      db: db.connection,
      artifactsDestination: gcs.gsUri("metrics"),
      storageEmulatorHost: gcs.url,
      workers: 2,
      extraArgs: ["--expose-prometheus", metricsDir],
    });
  });

  afterAll(async () => {
    await stopAllProcesses();
    await db?.destroy();
    await gcs?.destroy();
    rmSync(metricsDir, { recursive: true, force: true });
  });

  it("serves MLflow's request series on /metrics after a REST call, from the multiprocess directory", async () => {
    const client = new MlflowClient({ baseUrl: server.url });
    await client.createExperiment(`metrics-${Date.now()}`);
    const body = await (await fetch(`${server.url}/metrics`)).text();
    expect(body).toMatch(/^mlflow_http_request_total\{[^}]*method="POST"[^}]*status="200"[^}]*\} [1-9]/m);
    expect(readdirSync(metricsDir).filter((f) => f.endsWith(".db")).length).toBeGreaterThan(0);
  });
});
