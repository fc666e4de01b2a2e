/**
 * Every route family the chart serves, on the image's exact requirement set (the venv of
 * images/mlflow/requirements.txt, installed --no-deps as the image installs it): migrated by
 * `mlflow-entrypoint migrate`, started through the entrypoint with everything the chart can
 * turn on (basic auth, Prometheus metrics, artifacts proxied to GCS), then drained as the
 * preStop hook drains it. The image leaves out most of the `mlflow` package's dependencies
 * (requirements-excluded.in); a package the server does need, missing, fails here.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  describeRouteFamilies,
  entrypointScript,
  exerciseRouteFamilies,
  httpRequest,
  runEntrypoint,
  startGcsEmulator,
  startMlflowServer,
  startPostgres,
  stopAllProcesses,
  type GcsEmulator,
  type MlflowServer,
  type PostgresServer,
} from "../src/index.ts";

const ADMIN = { username: "admin", password: "Adm1n-routes:/?#%@" };

describe("every route family the chart serves, on the image's requirement set", () => {
  let db: PostgresServer;
  let gcs: GcsEmulator;
  let server: MlflowServer;
  const metricsDir = mkdtempSync(join(tmpdir(), "mlflow-k8s-routes-metrics-"));

  beforeAll(async () => {
    db = await startPostgres();
    gcs = await startGcsEmulator();
  });

  afterAll(async () => {
    await stopAllProcesses();
    await db?.destroy();
    await gcs?.destroy();
    rmSync(metricsDir, { recursive: true, force: true });
  });

  it("mlflow-entrypoint migrate creates the schema (what the chart's pre-install Job runs)", async () => {
    const res = await runEntrypoint("migrate", { db: db.connection });
    expect(res.code, res.output).toBe(0);
    expect(res.output).toContain("migration done");
  });

  it("serves probes, UI, tracking, model registry, proxied artifacts, GraphQL, ajax-api, traces, basic auth and metrics", async () => {
    server = await startMlflowServer({
      db: db.connection,
      artifactsDestination: gcs.gsUri("routes"),
      storageEmulatorHost: gcs.url,
      extraArgs: ["--app-name", "basic-auth", "--expose-prometheus", metricsDir],
      extraEnv: { MLFLOW_AUTH_ADMIN_USERNAME: ADMIN.username, MLFLOW_AUTH_ADMIN_PASSWORD: ADMIN.password, MLFLOW_FLASK_SERVER_SECRET_KEY: "csrf-key-shared-by-replicas-0123456789" },
    });
    const results = await exerciseRouteFamilies({ host: server.host, port: server.port, auth: ADMIN, metrics: true });
    console.log(describeRouteFamilies(results));
    expect(results.filter((r) => !r.ok), describeRouteFamilies(results)).toEqual([]);
    const objects = await gcs.listObjects("routes/");
    expect(objects.map((o) => o.name.split("/").pop())).toContain("routes.txt");
  });

  it("closes every connection once `mlflow-entrypoint drain` (the preStop hook) has run", async () => {
    // A client that asks to keep the connection open, as MLflow's Python client does.
    const keepAlive = { connection: "keep-alive" };
    const before = await httpRequest({ host: server.host, port: server.port, path: "/health", headers: keepAlive });
    expect(before.headers["connection"]).not.toBe("close");
    // The server's TMPDIR is its HOME here (the chart: /tmp), where drain leaves its file.
    await promisify(execFile)(server.python, [entrypointScript, "drain", "0"], { env: { ...process.env, TMPDIR: server.home } });
    const after = await httpRequest({ host: server.host, port: server.port, path: "/health", headers: keepAlive });
    expect(after.status).toBe(200);
    expect(after.headers["connection"]).toBe("close");
  });
});
