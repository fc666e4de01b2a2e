// Failure modes the chart relies on: a hostile password, the database down at start,
// a server restart; and the entrypoint's clear failures.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowClient } from "@mlflow-k8s/mlflow-client";
import {
  findSecretForms,
  freePort,
  runEntrypoint,
  startGcsEmulator,
  startMlflowServer,
  startPostgres,
  stopAllProcesses,
  waitFor,
  type DbConnection,
  type GcsEmulator,
  type MlflowServer,
  type PostgresServer,
} from "../src/index.ts";
import { commandLinesInGroup, keepLogs } from "./helpers.ts";

// Every character that breaks a naively built URL, plus an encoded-looking sequence.
const HOSTILE_PASSWORD = "p@ss:w/rd?x#y%41%zz&'\"\\ é";
const HOSTILE_USER = "ml@flow:user";

let pg: PostgresServer;
let gcs: GcsEmulator;
let db: DbConnection;
let server: MlflowServer | undefined;

beforeAll(async () => {
  pg = await startPostgres();
  db = await pg.createUserAndDatabase(HOSTILE_USER, HOSTILE_PASSWORD, "mlflow_hostile");
  gcs = await startGcsEmulator({ bucket: "resilience-bucket" });
});

afterAll(async () => {
  keepLogs("resilience", [server?.logFile, pg?.logFile]);
  await server?.destroy();
  await gcs?.destroy();
  await pg?.destroy();
  await stopAllProcesses();
});

describe("entrypoint failures are clear", () => {
  it("names a missing variable and exits 2 without waiting", async () => {
    const res = await runEntrypoint("wait", { db: { ...db, database: "" } });
    expect(res.code).toBe(2);
    expect(res.output).toContain("DB_NAME is required");
  });

  it("gives up after DB_WAIT_TIMEOUT_SECONDS on a closed port, never printing the password", async () => {
    const closed = await freePort();
    const res = await runEntrypoint("wait", { db: { ...db, port: closed }, dbWaitTimeoutSeconds: 2 });
    expect(res.code).toBe(1);
    expect(res.output).toMatch(/waiting for database .* attempt 1 failed/);
    expect(res.output).toContain("not reachable within 2s");
    expect(res.output).not.toContain(HOSTILE_PASSWORD);
  });

  // DB_WAIT_TIMEOUT_SECONDS is long: a retried login would show "retrying in" lines before the
  // runEntrypoint deadline. Broken on purpose by retrying every error (the old wait loop): red.
  it.each([
    ["a wrong password", "wrong-password"],
    ["the password with a trailing newline (a Secret made from a file an editor saved)", `${HOSTILE_PASSWORD}\n`],
  ])("fails at once on %s, naming the user and host, never the password", async (_name, password) => {
    const res = await runEntrypoint("wait", { db: { ...db, password }, dbWaitTimeoutSeconds: 600, timeoutMs: 120_000 });
    expect(res.code).toBe(1);
    expect(res.output).toContain(`database ${db.host}:${db.port} rejected the login of user '${HOSTILE_USER}'`);
    expect(res.output).toContain("password authentication failed");
    expect(res.output).not.toContain("retrying in");
    expect(findSecretForms(res.output, password)).toEqual([]);
    if (password.endsWith("\n")) expect(res.output).toContain("ends with whitespace or a line break");
  });
});

describe("database down at start", () => {
  it("the entrypoint waits, and the server comes up once the database does", async () => {
    await pg.stop();
    server = await startMlflowServer({
      db,
      storageEmulatorHost: gcs.emulatorHost,
      artifactsDestination: gcs.gsUri("artifacts"),
      dbWaitTimeoutSeconds: 120,
      waitUntilReady: false,
    });
    const s = server;
    await waitFor(async () => (s.log().match(/waiting for database/g) ?? []).length >= 2, { timeoutMs: 30_000, what: "two wait log lines" });
    expect(s.running).toBe(true);
    expect(s.log()).not.toContain("starting mlflow server");

    await pg.start();
    await s.waitUntilReady();
    expect(s.log()).toMatch(/database .* is reachable \(attempt \d+/);
    expect(await new MlflowClient({ baseUrl: s.url }).health()).toBe("OK");
  });
});

describe("a password full of URL-special characters", () => {
  it("works end to end: the server stores runs with it", async () => {
    const mlflow = new MlflowClient({ baseUrl: server!.url });
    const experimentId = await mlflow.createExperiment("hostile-password");
    const { info } = await mlflow.createRun({ experimentId, runName: "special" });
    await mlflow.logParam(info.run_id, "password_chars", "@:/?#%");
    expect((await mlflow.getRun(info.run_id)).data.params).toEqual([{ key: "password_chars", value: "@:/?#%" }]);
    // and the rows really are in that user's database
    const rows = await pg.sql("SELECT count(*) FROM experiments WHERE name = 'hostile-password';", "mlflow_hostile");
    expect(rows.trim()).toBe("1");
  });

  it("appears on no command line and in no log line", () => {
    for (const c of commandLinesInGroup(server!.pid!)) expect(findSecretForms(c, HOSTILE_PASSWORD)).toEqual([]);
    const log = server!.log();
    // Every form the password can leak in: raw, as the entrypoint URL-encodes it (Python quote), base64, JSON-escaped.
    expect(findSecretForms(log, HOSTILE_PASSWORD)).toEqual([]);
  });

  it("migrates that database too (idempotently)", async () => {
    const res = await runEntrypoint("migrate", { db });
    expect(res.code, res.output).toBe(0);
    expect(res.output).toContain("already at head revision");
    expect(res.output).not.toContain(HOSTILE_PASSWORD);
  });
});

describe("server restart", () => {
  it("keeps every run, metric and artifact", async () => {
    const s = server!;
    const mlflow = new MlflowClient({ baseUrl: s.url });
    const experimentId = await mlflow.createExperiment("survives-restart");
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const { info } = await mlflow.createRun({ experimentId, runName: `keep-${i}` });
      await mlflow.logParam(info.run_id, "i", String(i));
      await mlflow.logBatch(info.run_id, {
        metrics: Array.from({ length: 5 }, (_, step) => ({ key: "loss", value: 1 / (step + 1 + i), timestamp: 1_700_000_000_000 + step, step })),
      });
      await mlflow.setTag(info.run_id, "kept", "yes");
      await mlflow.uploadArtifact(info, `out/result-${i}.json`, JSON.stringify({ i }));
      await mlflow.finishRun(info.run_id);
      runs.push(await mlflow.getRun(info.run_id));
    }
    const history = (runId: string) =>
      mlflow.request("GET", "/api/2.0/mlflow/metrics/get-history", { idempotent: true, query: { run_id: runId, metric_key: "loss" } })
        .then((b) => (JSON.parse(b.toString()) as { metrics: unknown[] }).metrics);
    const historiesBefore = await Promise.all(runs.map((r) => history(r.info.run_id)));

    const pidBefore = s.pid;
    await s.restart();
    expect(s.pid).not.toBe(pidBefore);

    const after = await mlflow.searchAllRuns({ experimentIds: [experimentId], orderBy: ["attributes.run_name ASC"] });
    expect(after.map((r) => r.info.run_name)).toEqual(["keep-0", "keep-1", "keep-2"]);
    for (const [i, before] of runs.entries()) {
      const got = await mlflow.getRun(before.info.run_id);
      expect(got.info).toEqual(before.info);
      expect(got.data.params).toEqual(before.data.params);
      expect(got.data.metrics).toEqual(before.data.metrics);
      expect(got.data.tags).toEqual(expect.arrayContaining(before.data.tags ?? []));
      expect(await history(before.info.run_id)).toEqual(historiesBefore[i]);
      expect(historiesBefore[i]).toHaveLength(5);
      expect(await mlflow.listArtifacts(got.info, "out")).toEqual([{ path: `out/result-${i}.json`, is_dir: false, file_size: JSON.stringify({ i }).length }]);
      expect(JSON.parse((await mlflow.downloadArtifact(got.info, `out/result-${i}.json`)).toString())).toEqual({ i });
    }
  });
});
