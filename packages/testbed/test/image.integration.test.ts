// The built image itself (optional): runs only when MLFLOW_IMAGE names an image that the
// docker daemon at DOCKER_HOST has, e.g. after
//   docker build --build-arg BASE_IMAGE=mlflow-k8s/debian:bookworm -t mlflow-k8s/mlflow:3.17.2 images/mlflow
//   MLFLOW_IMAGE=mlflow-k8s/mlflow:3.17.2 pnpm test:integration
// The container runs as the chart runs it: UID 10001, read-only root filesystem, /tmp a
// tmpfs, HOME=/tmp, DB_* from an env file (never argv), against the testbed's PostgreSQL
// and GCS emulator on loopback (host network namespace: nothing else is addressed).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowClient } from "@mlflow-k8s/mlflow-client";
import { dbEnv, describeRouteFamilies, exerciseRouteFamilies, freePort, startGcsEmulator, startPostgres, stopAllProcesses, waitFor, type GcsEmulator, type PostgresServer } from "../src/index.ts";
import { pinnedMlflowVersion } from "./helpers.ts";

const run = promisify(execFile);
const image = process.env["MLFLOW_IMAGE"] ?? "";
const docker = (...args: string[]) => run("docker", args, { maxBuffer: 16 << 20 });
const ADMIN = { username: "admin", password: "Adm1n-image:/?#%@" };

describe.skipIf(image === "")("the server image", () => {
  let pg: PostgresServer;
  let gcs: GcsEmulator;
  let dir: string;
  let envFile: string;
  let port: number;
  const name = `mlflow-k8s-image-test-${process.pid}`;

  // What the chart's Deployment sets; the password lives only in the env file (mode 0600).
  const containerArgs = (...rest: string[]) => [
    "--network", "host", "--read-only", "--tmpfs", "/tmp:rw,mode=1777", "--user", "10001:10001",
    "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--env-file", envFile, image, ...rest,
  ];

  beforeAll(async () => {
    await docker("image", "inspect", image);
    pg = await startPostgres({ password: "p@ss:w/rd?x#y%41" });
    gcs = await startGcsEmulator({ bucket: "image-bucket" });
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), "mlflow-k8s-image-"));
    envFile = join(dir, "env");
    const env = {
      ...dbEnv(pg.connection), STORAGE_EMULATOR_HOST: gcs.emulatorHost, GCE_METADATA_HOST: "127.0.0.1:9", GCE_METADATA_IP: "127.0.0.1:9", HOME: "/tmp",
      MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
      // basic auth as the chart's auth.enabled sets it (the route families test it)
      MLFLOW_AUTH_ADMIN_USERNAME: ADMIN.username, MLFLOW_AUTH_ADMIN_PASSWORD: ADMIN.password, MLFLOW_FLASK_SERVER_SECRET_KEY: "csrf-key-shared-by-replicas-0123456789",
    };
    writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}`).join("\n") + "\n", { mode: 0o600 });
  });

  afterAll(async () => {
    await docker("rm", "-f", name).catch(() => undefined);
    await gcs?.destroy();
    await pg?.destroy();
    await stopAllProcesses();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("runs as UID 10001 with no secret baked in", async () => {
    const { stdout } = await docker("image", "inspect", "--format", "{{.Config.User}} {{json .Config.Env}}", image);
    expect(stdout).toMatch(/^10001:10001 /);
    expect(stdout).not.toMatch(/PASSWORD/);
  });

  it("migrates the database with a read-only root filesystem", async () => {
    const { stdout, stderr } = await docker("run", "--rm", ...containerArgs("migrate"));
    expect(`${stdout}${stderr}`).toContain("migration done");
    expect(`${stdout}${stderr}`).not.toContain(pg.password);
  });

  it("serves every route family the chart serves (basic auth, metrics, artifacts to GCS) with a read-only root filesystem", async () => {
    await docker("run", "-d", "--name", name, ...containerArgs(
      "server", "--host", "127.0.0.1", "--port", String(port), "--serve-artifacts",
      "--artifacts-destination", gcs.gsUri("from-image"), "--workers", "1",
      "--app-name", "basic-auth", "--expose-prometheus", "/tmp/metrics",
    ));
    const mlflow = new MlflowClient({ baseUrl: `http://127.0.0.1:${port}`, retries: 0, timeoutMs: 5_000, auth: { type: "basic", ...ADMIN } });
    await waitFor(async () => (await mlflow.health()) === "OK", {
      timeoutMs: 180_000,
      intervalMs: 1_000,
      what: "the container's /health",
      abortIf: () => undefined,
    });
    expect(await mlflow.version()).toBe(pinnedMlflowVersion());
    const results = await exerciseRouteFamilies({ host: "127.0.0.1", port, auth: ADMIN, metrics: true });
    console.log(describeRouteFamilies(results));
    expect(results.filter((r) => !r.ok), describeRouteFamilies(results)).toEqual([]);
    const experimentId = await mlflow.createExperiment("from-image");
    const { info } = await mlflow.createRun({ experimentId });
    await mlflow.logMetric(info.run_id, "loss", 0.1);
    await mlflow.uploadArtifact(info, "hello.txt", "hello from the image");
    const objects = await gcs.listObjects(`from-image/${experimentId}/${info.run_id}/`);
    expect(objects.map((o) => o.name)).toEqual([`from-image/${experimentId}/${info.run_id}/artifacts/hello.txt`]);
    console.log(`artifact object found in emulator bucket: ${objects[0]!.uri}`);
    const { stdout: logs, stderr: errs } = await docker("logs", name);
    expect(`${logs}${errs}`).not.toContain(pg.password);
    expect(`${logs}${errs}`).not.toContain(ADMIN.password);
    const { stdout: top } = await docker("top", name, "-eo", "pid,user,args");
    expect(top).not.toContain(pg.password);
    expect(top).toContain("mlflow server");
  });
});
