/**
 * Basic auth as the chart runs it (`--app-name basic-auth`, admin credentials in env):
 * the entrypoint keeps the user store in the backend PostgreSQL database, anonymous
 * calls are refused, the admin's are served, and users survive a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowApiError, MlflowClient } from "@mlflow-k8s/mlflow-client";
import { startGcsEmulator, startMlflowServer, startPostgres, stopAllProcesses, type GcsEmulator, type MlflowServer, type PostgresServer } from "../src/index.ts";

const ADMIN = { username: "admin", password: "Adm1n-pw:/?#%@" };

describe("basic auth", () => {
  let db: PostgresServer;
  let gcs: GcsEmulator;
  let server: MlflowServer;

  beforeAll(async () => {
    db = await startPostgres();
    gcs = await startGcsEmulator();
    server = await startMlflowServer({
      db: db.connection,
      artifactsDestination: gcs.gsUri("auth"),
      storageEmulatorHost: gcs.url,
      extraArgs: ["--app-name", "basic-auth"],
      extraEnv: { MLFLOW_AUTH_ADMIN_USERNAME: ADMIN.username, MLFLOW_AUTH_ADMIN_PASSWORD: ADMIN.password, MLFLOW_FLASK_SERVER_SECRET_KEY: "csrf-key-shared-by-replicas-0123456789", MLFLOW_AUTH_DEFAULT_PERMISSION: "READ" },
    });
  });

  afterAll(async () => {
    await stopAllProcesses();
    await db?.destroy();
    await gcs?.destroy();
  });

  it("refuses anonymous REST calls with 401 but serves /health (the probes need no credentials)", async () => {
    const anonymous = new MlflowClient({ baseUrl: server.url, retries: 0 });
    expect((await anonymous.health()).trim()).toBe("OK");
    const error = await anonymous.searchExperiments().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowApiError);
    expect((error as MlflowApiError).httpStatus).toBe(401);
  });

  it("serves the admin from MLFLOW_AUTH_ADMIN_* and keeps users in the backend database across a restart", async () => {
    const admin = new MlflowClient({ baseUrl: server.url, auth: { type: "basic", ...ADMIN } });
    const id = await admin.createExperiment(`auth-${Date.now()}`);
    expect(id).toMatch(/^\d+$/);
    const tables = await db.sql("SELECT table_name FROM information_schema.tables WHERE table_name IN ('users', 'alembic_version_auth') ORDER BY 1;", "mlflow");
    expect(tables.trim().split("\n")).toEqual(["alembic_version_auth", "users"]);
    await server.restart();
    expect((await admin.getExperiment(id)).experiment_id).toBe(id);
    const wrong = new MlflowClient({ baseUrl: server.url, retries: 0, auth: { type: "basic", username: "admin", password: "wrong" } });
    await expect(wrong.getExperiment(id)).rejects.toMatchObject({ httpStatus: 401 });
  });
});
