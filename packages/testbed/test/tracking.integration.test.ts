// The tracking server we ship (images/mlflow pins + entrypoint), with the chart's env and
// args, against real PostgreSQL and a real GCS emulator, driven through our client.
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowApiError, MlflowClient, type Metric, type Param, type Tag } from "@mlflow-k8s/mlflow-client";
import {
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
import { commandLinesInGroup, filesModifiedSince, keepLogs, pinnedMlflowVersion } from "./helpers.ts";

const ALLOWED_HOSTS = "mlflow.example.test:*,127.0.0.1:*,localhost:*";
const ARTIFACT_PREFIX = "mlflow-artifacts-root";

let pg: PostgresServer;
let gcs: GcsEmulator;
let server: MlflowServer;
let mlflow: MlflowClient;
let startedAt: number;

beforeAll(async () => {
  startedAt = Date.now();
  pg = await startPostgres();
  gcs = await startGcsEmulator({ bucket: "tracking-bucket" });
  // What the chart's pre-install Job does before any server starts.
  const migrate = await runEntrypoint("migrate", { db: pg.connection });
  expect(migrate.code, migrate.output).toBe(0);
  server = await startMlflowServer({
    db: pg.connection,
    storageEmulatorHost: gcs.emulatorHost,
    artifactsDestination: gcs.gsUri(ARTIFACT_PREFIX),
    allowedHosts: ALLOWED_HOSTS,
    corsAllowedOrigins: "http://mlflow.example.test",
  });
  mlflow = new MlflowClient({ baseUrl: server.url, timeoutMs: 30_000 });
});

afterAll(async () => {
  keepLogs("tracking", [server?.logFile, pg?.logFile]);
  await server?.destroy();
  await gcs?.destroy();
  await pg?.destroy();
  await stopAllProcesses();
});

describe("server", () => {
  it("answers /health and reports the pinned MLflow version", async () => {
    expect(await mlflow.health()).toBe("OK");
    expect(await mlflow.version()).toBe(pinnedMlflowVersion());
  });

  it("migrate is idempotent: a second run finds the schema at head and changes nothing", async () => {
    const again = await runEntrypoint("migrate", { db: pg.connection });
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain("already at head revision");
  });

  it("never puts the database password on a command line or in its log", () => {
    const cmdlines = commandLinesInGroup(server.pid!);
    expect(cmdlines.length).toBeGreaterThanOrEqual(2); // mlflow server + uvicorn (+ workers)
    expect(cmdlines.some((c) => c.includes("mlflow server"))).toBe(true);
    for (const c of cmdlines) expect(c).not.toContain(pg.password);
    expect(server.log()).not.toContain(pg.password);
    expect(server.log()).toContain("postgresql+psycopg2://mlflow:***@");
  });
});

describe("tracking", () => {
  it("records a whole run: experiment, params, metrics, batch, tags, finish, get", async () => {
    const experimentId = await mlflow.createExperiment("tracking-flow", { tags: [{ key: "owner", value: "testbed" }] });
    expect((await mlflow.getExperimentByName("tracking-flow")).experiment_id).toBe(experimentId);
    expect((await mlflow.getExperiment(experimentId)).tags).toContainEqual({ key: "owner", value: "testbed" });

    const run = await mlflow.createRun({ experimentId, runName: "flow" });
    const runId = run.info.run_id;
    expect(run.info.status).toBe("RUNNING");

    await mlflow.logParam(runId, "lr", "0.01");
    const t = Date.now();
    await mlflow.logMetric(runId, "loss", 0.9, { step: 0, timestamp: t });
    await mlflow.logMetric(runId, "loss", 0.4, { step: 1, timestamp: t + 1 });
    await mlflow.setTag(runId, "stage", "test");
    const requests = await mlflow.logBatch(runId, {
      params: [{ key: "epochs", value: "3" }],
      metrics: [{ key: "accuracy", value: 0.75, timestamp: t, step: 1 }],
      tags: [{ key: "team", value: "ml" }],
    });
    expect(requests).toBe(1);
    const info = await mlflow.finishRun(runId);
    expect(info.status).toBe("FINISHED");

    const got = await mlflow.getRun(runId);
    expect(got.info.status).toBe("FINISHED");
    expect(got.info.end_time).toBeGreaterThanOrEqual(t);
    expect(got.info.run_name).toBe("flow");
    expect(got.data.params).toEqual(expect.arrayContaining([{ key: "lr", value: "0.01" }, { key: "epochs", value: "3" }]));
    expect(got.data.metrics).toEqual(expect.arrayContaining([
      { key: "loss", value: 0.4, timestamp: t + 1, step: 1 },
      { key: "accuracy", value: 0.75, timestamp: t, step: 1 },
    ]));
    expect(got.data.tags).toEqual(expect.arrayContaining([{ key: "stage", value: "test" }, { key: "team", value: "ml" }]));
  });

  it("log-batch beyond MLflow's per-request limits arrives complete", async () => {
    const experimentId = await mlflow.createExperiment("big-batch");
    const { info } = await mlflow.createRun({ experimentId });
    const t = Date.now();
    const metrics: Metric[] = Array.from({ length: 1200 }, (_, i) => ({ key: `m${i}`, value: i / 10, timestamp: t, step: i }));
    const params: Param[] = Array.from({ length: 150 }, (_, i) => ({ key: `p${i}`, value: `v${i}` }));
    const tags: Tag[] = Array.from({ length: 120 }, (_, i) => ({ key: `t${i}`, value: `w${i}` }));
    expect(await mlflow.logBatch(info.run_id, { metrics, params, tags })).toBe(2);
    const got = await mlflow.getRun(info.run_id);
    expect(got.data.metrics).toHaveLength(1200);
    expect(got.data.params).toHaveLength(150);
    expect(got.data.tags?.filter((x) => x.key.startsWith("t"))).toHaveLength(120);
    expect(got.data.metrics?.find((m) => m.key === "m1199")).toEqual({ key: "m1199", value: 119.9, timestamp: t, step: 1199 });
  });

  it("searches runs page by page, with a filter and an order", async () => {
    const experimentId = await mlflow.createExperiment("paging");
    for (let i = 0; i < 7; i++) {
      const { info } = await mlflow.createRun({ experimentId, runName: `r${i}` });
      await mlflow.logParam(info.run_id, "parity", i % 2 === 0 ? "even" : "odd");
      await mlflow.logMetric(info.run_id, "score", i);
    }
    const first = await mlflow.searchRuns({ experimentIds: [experimentId], maxResults: 3, orderBy: ["metrics.score ASC"] });
    expect(first.items.map((r) => r.info.run_name)).toEqual(["r0", "r1", "r2"]);
    expect(first.nextPageToken).toBeDefined();
    const second = await mlflow.searchRuns({ experimentIds: [experimentId], maxResults: 3, orderBy: ["metrics.score ASC"], pageToken: first.nextPageToken! });
    expect(second.items.map((r) => r.info.run_name)).toEqual(["r3", "r4", "r5"]);

    const pages: number[] = [];
    for await (const page of mlflow.iterateRuns({ experimentIds: [experimentId], maxResults: 3 })) pages.push(page.length);
    expect(pages).toEqual([3, 3, 1]);

    const even = await mlflow.searchAllRuns({ experimentIds: [experimentId], filter: "params.parity = 'even'", maxResults: 2 });
    expect(even.map((r) => r.info.run_name).sort()).toEqual(["r0", "r2", "r4", "r6"]);
  });

  it("searches experiments, soft-deletes one (its name stays taken) and restores it", async () => {
    const id = await mlflow.createExperiment("to-delete");
    await mlflow.deleteExperiment(id);
    expect((await mlflow.getExperiment(id)).lifecycle_stage).toBe("deleted");
    const active = await mlflow.searchExperiments({ filter: "name = 'to-delete'" });
    expect(active.items).toHaveLength(0);
    const deleted = await mlflow.searchExperiments({ filter: "name = 'to-delete'", viewType: "DELETED_ONLY" });
    expect(deleted.items.map((e) => e.experiment_id)).toEqual([id]);
    await expect(mlflow.createExperiment("to-delete")).rejects.toMatchObject({ errorCode: "RESOURCE_ALREADY_EXISTS" });
    await mlflow.restoreExperiment(id);
    expect((await mlflow.getExperiment(id)).lifecycle_stage).toBe("active");
  });

  it("soft-deletes and restores a run", async () => {
    const experimentId = await mlflow.createExperiment("run-delete");
    const { info } = await mlflow.createRun({ experimentId });
    await mlflow.deleteRun(info.run_id);
    expect((await mlflow.getRun(info.run_id)).info.lifecycle_stage).toBe("deleted");
    expect((await mlflow.searchRuns({ experimentIds: [experimentId] })).items).toHaveLength(0);
    await mlflow.restoreRun(info.run_id);
    expect((await mlflow.searchRuns({ experimentIds: [experimentId] })).items).toHaveLength(1);
  });
});

describe("artifacts through the proxy", () => {
  it("stores an uploaded artifact as an object in the emulator's bucket", async () => {
    const experimentId = await mlflow.createExperiment("artifacts");
    const { info } = await mlflow.createRun({ experimentId });
    const content = `weights for ${info.run_id}\n`;
    await mlflow.uploadArtifact(info, "model/weights.txt", content, "text/plain");

    expect(await mlflow.listArtifacts(info)).toEqual([{ path: "model", is_dir: true }]);
    expect(await mlflow.listArtifacts(info, "model")).toEqual([{ path: "model/weights.txt", is_dir: false, file_size: Buffer.byteLength(content) }]);
    expect((await mlflow.downloadArtifact(info, "model/weights.txt")).toString()).toBe(content);

    // Asked of the emulator's own JSON API, not of MLflow.
    const expected = `${ARTIFACT_PREFIX}/${experimentId}/${info.run_id}/artifacts/model/weights.txt`;
    const objects = await gcs.listObjects(`${ARTIFACT_PREFIX}/${experimentId}/${info.run_id}/`);
    expect(objects.map((o) => o.name)).toEqual([expected]);
    const object = objects[0]!;
    expect(object.size).toBe(Buffer.byteLength(content));
    expect((await gcs.readObject(object.name)).toString()).toBe(content);
    console.log(`artifact object found in emulator bucket: ${object.uri}`);
  });

  it("keeps binary content and odd file names intact", async () => {
    const experimentId = await mlflow.createExperiment("artifacts-binary");
    const { info } = await mlflow.createRun({ experimentId });
    const bytes = new Uint8Array(256 * 1024).map((_, i) => (i * 31) % 256);
    await mlflow.uploadArtifact(info, "data/a b+c.bin", bytes);
    expect(Buffer.compare(await mlflow.downloadArtifact(info, "data/a b+c.bin"), Buffer.from(bytes))).toBe(0);
    const objects = await gcs.listObjects(`${ARTIFACT_PREFIX}/${experimentId}/`);
    expect(objects.map((o) => o.name)).toEqual([`${ARTIFACT_PREFIX}/${experimentId}/${info.run_id}/artifacts/data/a b+c.bin`]);
  });

  it("uploads a 12 MiB artifact (a resumable upload to GCS) intact", async () => {
    const experimentId = await mlflow.createExperiment("artifacts-large");
    const { info } = await mlflow.createRun({ experimentId });
    const bytes = Buffer.alloc(12 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32LE(i, i);
    await mlflow.uploadArtifact(info, "big.bin", bytes);
    const [object] = await gcs.listObjects(`${ARTIFACT_PREFIX}/${experimentId}/${info.run_id}/artifacts/big.bin`);
    expect(object?.size).toBe(bytes.length);
    expect(Buffer.compare(await mlflow.downloadArtifact(info, "big.bin"), bytes)).toBe(0);
  });
});

describe("errors", () => {
  it("maps a duplicate experiment to 400 RESOURCE_ALREADY_EXISTS", async () => {
    await mlflow.createExperiment("dup");
    const err = await mlflow.createExperiment("dup").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowApiError);
    expect(err).toMatchObject({ httpStatus: 400, errorCode: "RESOURCE_ALREADY_EXISTS" });
  });

  it("maps an unknown run to 404 RESOURCE_DOES_NOT_EXIST", async () => {
    const err = await mlflow.getRun("0123456789abcdef0123456789abcdef").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowApiError);
    expect(err).toMatchObject({ httpStatus: 404, errorCode: "RESOURCE_DOES_NOT_EXIST" });
  });

  it("maps an invalid parameter to 400 INVALID_PARAMETER_VALUE", async () => {
    const experimentId = await mlflow.createExperiment("immutable-params");
    const { info } = await mlflow.createRun({ experimentId });
    await mlflow.logParam(info.run_id, "k", "1");
    await expect(mlflow.logParam(info.run_id, "k", "2")).rejects.toMatchObject({ httpStatus: 400, errorCode: "INVALID_PARAMETER_VALUE" });
  });
});

describe("host header check (MLFLOW_SERVER_ALLOWED_HOSTS)", () => {
  const search = (host: string) =>
    httpRequest({
      host: server.host,
      port: server.port,
      method: "POST",
      path: "/api/2.0/mlflow/experiments/search",
      headers: { host, "content-type": "application/json" },
      body: JSON.stringify({ max_results: 1 }),
    });

  it("refuses a Host outside the allowed hosts with 403", async () => {
    const res = await search("evil.example.com");
    expect(res.status).toBe(403);
    expect(res.text).toContain("Invalid Host header");
  });

  it("accepts a Host inside the allowed hosts", async () => {
    const res = await search(`mlflow.example.test:${server.port}`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toHaveProperty("experiments");
  });

  it("leaves /health open to any Host, for probes", async () => {
    const res = await httpRequest({ host: server.host, port: server.port, path: "/health", headers: { host: "evil.example.com" } });
    expect(res.status).toBe(200);
  });
});

describe("read-only root filesystem", () => {
  it("writes nothing into the installed venv while serving (only HOME/TMPDIR)", () => {
    const venv = dirname(dirname(server.python));
    expect(filesModifiedSince(venv, startedAt)).toEqual([]);
  });
});
