// An upgrade of MLflow across a schema change keeps the data: the previous release
// (images/mlflow/requirements-previous.in) writes through the image's entrypoint, the
// pinned release finds that schema out of date, the pinned `mlflow-entrypoint migrate` (what
// the chart's pre-upgrade Job runs) brings it to head once and then leaves it alone, and the
// pinned server reads back every experiment, run, param, metric (with history), tag and
// artifact byte. Last, what happens without the Job.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowClient, type Experiment, type FileInfo, type Metric, type Run } from "@mlflow-k8s/mlflow-client";
import {
  dbEnv,
  ensurePythonVenv,
  imageDir,
  runEntrypoint,
  startGcsEmulator,
  startMlflowServer,
  startPostgres,
  stopAllProcesses,
  type GcsEmulator,
  type MlflowServer,
  type DbConnection,
  type MlflowServerOptions,
  type PostgresServer,
} from "../src/index.ts";
import { keepLogs, pinnedMlflowVersion, previousMlflowVersion } from "./helpers.ts";

const execFileAsync = promisify(execFile);

const PREVIOUS = previousMlflowVersion();
const PINNED = pinnedMlflowVersion();
const T0 = 1_700_000_000_000;
const BINARY = randomBytes(200_000); // an artifact whose every byte must survive

let pg: PostgresServer;
let gcs: GcsEmulator;
let previousPython: string;
let pinnedPython: string;
let previousHead: string;
let pinnedHead: string;
let serverOptions: MlflowServerOptions;
let previousServer: MlflowServer | undefined;
let pinnedServer: MlflowServer | undefined;
let noJobServer: MlflowServer | undefined;

/** The alembic head revision that the MLflow of a venv migrates to. */
async function alembicHead(python: string): Promise<string> {
  const { stdout } = await execFileAsync(python, ["-c", "from mlflow.store.db.utils import _get_latest_schema_revision as h; print(h())"], {
    env: { PATH: "/usr/bin:/bin", PYTHONDONTWRITEBYTECODE: "1", MLFLOW_DISABLE_TELEMETRY: "true" },
  });
  return stdout.trim();
}

/** The revision the database is at, from the table alembic keeps. */
async function dbRevision(): Promise<string> {
  return (await pg.sql("SELECT version_num FROM alembic_version;", pg.database)).trim();
}

/** Every table and column of the schema, to tell whether a migration changed anything. */
async function schemaFingerprint(): Promise<string> {
  return pg.sql(
    "SELECT table_name || '.' || column_name || ':' || data_type || ':' || is_nullable FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1;",
    pg.database,
  );
}

async function tableCount(): Promise<number> {
  return Number((await pg.sql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public';", pg.database)).trim());
}

/**
 * Runs MLflow's own schema check (what SqlAlchemyStore does once all its tables exist)
 * with a venv's python, against the database the entrypoint's DB_* env describes.
 */
async function verifySchemaWith(python: string, db: DbConnection): Promise<{ code: number; output: string }> {
  const script = [
    "import sys, sqlalchemy",
    `sys.path.insert(0, ${JSON.stringify(imageDir)})`,
    "from mlflow_entrypoint import build_backend_uri",
    "from mlflow.store.db.utils import _verify_schema",
    "import os",
    "engine = sqlalchemy.create_engine(build_backend_uri(os.environ), poolclass=sqlalchemy.pool.NullPool)",
    "_verify_schema(engine)",
  ].join("\n");
  try {
    const { stdout, stderr } = await execFileAsync(python, ["-c", script], {
      env: { PATH: "/usr/bin:/bin", PYTHONDONTWRITEBYTECODE: "1", MLFLOW_DISABLE_TELEMETRY: "true", ...dbEnv(db) },
    });
    return { code: 0, output: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : -1, output: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

function history(client: MlflowClient, runId: string, key: string): Promise<Metric[]> {
  return client
    .request("GET", "/api/2.0/mlflow/metrics/get-history", { idempotent: true, query: { run_id: runId, metric_key: key } })
    .then((b) => (JSON.parse(b.toString()) as { metrics?: Metric[] }).metrics ?? []);
}

const byStep = (a: Metric, b: Metric) => a.step - b.step || a.timestamp - b.timestamp;

/** What the previous server showed, to compare with what the pinned one shows. */
interface Snapshot {
  experiments: Experiment[];
  runs: Run[];
  histories: Map<string, Metric[]>; // `${runId}/${key}`
  artifacts: Map<string, FileInfo[]>; // runId -> listing of "out"
}
const snapshot: Snapshot = { experiments: [], runs: [], histories: new Map(), artifacts: new Map() };

beforeAll(async () => {
  [pg, gcs, previousPython, pinnedPython] = await Promise.all([
    startPostgres(),
    startGcsEmulator({ bucket: "upgrade-bucket" }),
    ensurePythonVenv("previous"),
    ensurePythonVenv("current"),
  ]);
  [previousHead, pinnedHead] = await Promise.all([alembicHead(previousPython), alembicHead(pinnedPython)]);
  serverOptions = { db: pg.connection, storageEmulatorHost: gcs.emulatorHost, artifactsDestination: gcs.gsUri("artifacts") };
});

afterAll(async () => {
  keepLogs("upgrade", [previousServer?.logFile, pinnedServer?.logFile, pg?.logFile]);
  await previousServer?.destroy();
  await pinnedServer?.destroy();
  await noJobServer?.destroy();
  await gcs?.destroy();
  await pg?.destroy();
  await stopAllProcesses();
});

describe(`upgrade from the previous MLflow to the pinned one across a schema change`, () => {
  it("the two releases have different schema heads", () => {
    console.log(`[upgrade] MLflow ${PREVIOUS} (head ${previousHead}) -> ${PINNED} (head ${pinnedHead})`);
    expect(previousHead).toMatch(/^[0-9a-f]{12}$/);
    expect(pinnedHead).toMatch(/^[0-9a-f]{12}$/);
    expect(previousHead).not.toBe(pinnedHead);
  });

  it(`the previous MLflow's migrate creates its own, older schema`, async () => {
    const res = await runEntrypoint("migrate", { db: pg.connection, python: previousPython });
    expect(res.code, res.output).toBe(0);
    expect(res.output).toContain(`creating MLflow tables at schema revision ${previousHead}`);
    expect(await dbRevision()).toBe(previousHead);
  });

  it("the previous server stores experiments, runs, params, metrics with history, tags and artifacts", async () => {
    previousServer = await startMlflowServer({ ...serverOptions, python: previousPython });
    const client = new MlflowClient({ baseUrl: previousServer.url, timeoutMs: 30_000 });
    expect(await client.version()).toBe(PREVIOUS);

    for (const name of ["upgrade-a", "upgrade-b"]) {
      const experimentId = await client.createExperiment(name, { tags: [{ key: "team", value: name }] });
      for (let i = 0; i < 2; i++) {
        const { info } = await client.createRun({ experimentId, runName: `${name}-run-${i}`, startTime: T0, tags: [{ key: "phase", value: "before" }] });
        await client.logBatch(info.run_id, {
          params: [{ key: "lr", value: String(0.01 * (i + 1)) }, { key: "optimizer", value: "adam" }],
          metrics: Array.from({ length: 5 }, (_, step) => ({ key: "loss", value: 1 / (step + 1 + i), timestamp: T0 + step, step })),
          tags: [{ key: "dataset", value: "iris" }],
        });
        await client.logMetric(info.run_id, "accuracy", 0.9 + i / 100, { timestamp: T0 + 10, step: 0 });
        await client.setTag(info.run_id, "mlflow.note.content", `run ${i} of ${name}, written by MLflow ${PREVIOUS}`);
        await client.uploadArtifact(info, "out/model.bin", BINARY, "application/octet-stream");
        await client.uploadArtifact(info, "out/summary.json", JSON.stringify({ name, i }));
        await client.finishRun(info.run_id, i === 0 ? "FINISHED" : "FAILED");
      }
      snapshot.experiments.push(await client.getExperiment(experimentId));
    }
    snapshot.runs = await client.searchAllRuns({ experimentIds: snapshot.experiments.map((e) => e.experiment_id), orderBy: ["attributes.run_name ASC"] });
    expect(snapshot.runs).toHaveLength(4);
    for (const run of snapshot.runs) {
      for (const key of ["loss", "accuracy"]) snapshot.histories.set(`${run.info.run_id}/${key}`, (await history(client, run.info.run_id, key)).sort(byStep));
      snapshot.artifacts.set(run.info.run_id, await client.listArtifacts(run.info, "out"));
      expect(snapshot.histories.get(`${run.info.run_id}/loss`)).toHaveLength(5);
    }
    await previousServer.stop();
  });

  it("the pinned MLflow finds the older schema out of date", async () => {
    expect(await dbRevision()).toBe(previousHead);
    const res = await verifySchemaWith(pinnedPython, pg.connection);
    expect(res.code).not.toBe(0);
    expect(res.output).toContain(`Detected out-of-date database schema (found version ${previousHead}, but expected ${pinnedHead})`);
    expect(await dbRevision()).toBe(previousHead); // checking changed nothing
  });

  it("the pinned migrate upgrades the schema to the pinned head, in place", async () => {
    const tablesBefore = await tableCount();
    const started = performance.now();
    const res = await runEntrypoint("migrate", { db: pg.connection, python: pinnedPython });
    const seconds = (performance.now() - started) / 1000;
    expect(res.code, res.output).toBe(0);
    expect(res.output).toContain(`upgrading schema from revision ${previousHead} to ${pinnedHead}`);
    expect(res.output).toContain(`migration done: schema revision ${previousHead} -> ${pinnedHead}`);
    expect(await dbRevision()).toBe(pinnedHead);
    const tablesAfter = await tableCount();
    console.log(`[upgrade] migrate ${PREVIOUS} -> ${PINNED}: revision ${previousHead} -> ${pinnedHead}, ` +
      `${tablesBefore} -> ${tablesAfter} tables, ${seconds.toFixed(1)} s (entrypoint process, Python imports included)`);
  });

  it("a second migrate finds the schema at head and changes nothing", async () => {
    const before = await schemaFingerprint();
    const started = performance.now();
    const res = await runEntrypoint("migrate", { db: pg.connection, python: pinnedPython });
    const seconds = (performance.now() - started) / 1000;
    expect(res.code, res.output).toBe(0);
    expect(res.output).toContain(`schema already at head revision ${pinnedHead}: nothing to do`);
    expect(await dbRevision()).toBe(pinnedHead);
    expect(await schemaFingerprint()).toBe(before);
    console.log(`[upgrade] second migrate: no change, ${seconds.toFixed(1)} s`);
  });

  it("the pinned server reads back every experiment, run, param, metric, tag and artifact byte", async () => {
    pinnedServer = await startMlflowServer({ ...serverOptions, python: pinnedPython });
    const client = new MlflowClient({ baseUrl: pinnedServer.url, timeoutMs: 30_000 });
    expect(await client.version()).toBe(PINNED);
    expect(pinnedServer.log()).not.toContain("Updating database tables"); // the Job migrated, not the server

    for (const before of snapshot.experiments) {
      const got = await client.getExperiment(before.experiment_id);
      expect(got.name).toBe(before.name);
      expect(got.artifact_location).toBe(before.artifact_location);
      expect(got.lifecycle_stage).toBe("active");
      expect(got.creation_time).toBe(before.creation_time);
      expect(got.tags).toEqual(expect.arrayContaining(before.tags ?? []));
    }
    const runs = await client.searchAllRuns({ experimentIds: snapshot.experiments.map((e) => e.experiment_id), orderBy: ["attributes.run_name ASC"] });
    expect(runs.map((r) => r.info.run_id)).toEqual(snapshot.runs.map((r) => r.info.run_id));
    for (const before of snapshot.runs) {
      const got = await client.getRun(before.info.run_id);
      expect(got.info).toEqual(before.info);
      expect(got.data.params).toEqual(expect.arrayContaining(before.data.params ?? []));
      expect(got.data.params).toHaveLength(before.data.params?.length ?? 0);
      expect(got.data.metrics).toEqual(expect.arrayContaining(before.data.metrics ?? []));
      expect(got.data.metrics).toHaveLength(before.data.metrics?.length ?? 0);
      expect(got.data.tags).toEqual(expect.arrayContaining(before.data.tags ?? []));
      for (const key of ["loss", "accuracy"]) {
        expect((await history(client, before.info.run_id, key)).sort(byStep)).toEqual(snapshot.histories.get(`${before.info.run_id}/${key}`));
      }
      expect(await client.listArtifacts(got.info, "out")).toEqual(snapshot.artifacts.get(before.info.run_id));
      expect(Buffer.compare(await client.downloadArtifact(got.info, "out/model.bin"), BINARY)).toBe(0);
      expect(JSON.parse((await client.downloadArtifact(got.info, "out/summary.json")).toString())).toMatchObject({ i: expect.any(Number) });
    }
    // searches over the migrated tables still filter by param, metric and tag
    const found = await client.searchAllRuns({
      experimentIds: snapshot.experiments.map((e) => e.experiment_id),
      filter: "params.lr = '0.01' and metrics.loss < 0.3 and tags.dataset = 'iris'",
    });
    expect(found.map((r) => r.info.run_name).sort()).toEqual(["upgrade-a-run-0", "upgrade-b-run-0"]);
  });

  it("the upgraded database takes new writes on runs the previous release created", async () => {
    const client = new MlflowClient({ baseUrl: pinnedServer!.url, timeoutMs: 30_000 });
    const old = snapshot.runs[0]!;
    await client.logMetric(old.info.run_id, "loss", 0.01, { timestamp: T0 + 100, step: 5 });
    await client.setTag(old.info.run_id, "phase", "after");
    const got = await client.getRun(old.info.run_id);
    expect(got.data.tags).toEqual(expect.arrayContaining([{ key: "phase", value: "after" }]));
    expect(await history(client, old.info.run_id, "loss")).toHaveLength(6);
  });
});

describe("without the migration Job", () => {
  // MLflow's SqlAlchemyStore runs _initialize_tables (create_all + alembic upgrade head)
  // whenever a table of its ORM is missing, and only otherwise refuses an older revision.
  // 3.17 adds tables, so a pinned server started on a 3.16 schema migrates it ITSELF, in
  // every replica at once during a rolling upgrade: why the chart migrates in a
  // pre-upgrade Job before any new pod starts.
  it("a pinned server started on the older schema migrates it itself at startup", async () => {
    const other = await pg.createUserAndDatabase("mlflow_nojob", "nojob-password", "mlflow_nojob");
    const old = await runEntrypoint("migrate", { db: other, python: previousPython });
    expect(old.code, old.output).toBe(0);
    const revision = async () => (await pg.sql("SELECT version_num FROM alembic_version;", "mlflow_nojob")).trim();
    expect(await revision()).toBe(previousHead);
    noJobServer = await startMlflowServer({ ...serverOptions, db: other, python: pinnedPython });
    expect(noJobServer.log()).toContain("Updating database tables");
    expect(await revision()).toBe(pinnedHead);
    await noJobServer.destroy();
  });
});
