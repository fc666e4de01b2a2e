/** State shared by the e2e phases. Each phase fills in what the next ones need. */
import type { ClusterInfo, ClusterProvider } from "@mlflow-k8s/cluster";
import type { MlflowClient } from "@mlflow-k8s/mlflow-client";
import type { DbConnection, GcsObject } from "@mlflow-k8s/testbed";
import type { Access } from "./access.ts";
import type { E2eOptions } from "./args.ts";
import type { Kube } from "./kube.ts";
import type { Log } from "./runner.ts";
import type { Tools } from "./tools.ts";

/** What the REST phase wrote, so later phases can prove it survived. */
export interface WrittenData {
  experimentId: string;
  experimentName: string;
  runId: string;
  runName: string;
  params: Record<string, string>;
  metricSteps: number;
  artifactPath: string;
  artifactBody: string;
  /** Object name in the emulator's bucket. */
  artifactObject: string;
}

/**
 * The PostgreSQL the releases use, as the phases need it: host-run (testbed's PostgresServer)
 * or in the cluster (in-cluster-services.ts). stop()/start() keep the data (outage tests).
 */
export interface TestDatabase {
  /** As pods reach it. */
  readonly connection: DbConnection;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
  createUserAndDatabase(user: string, password: string, database: string): Promise<DbConnection>;
  /** Runs SQL as the superuser (SQL on stdin, never on a command line); psql's output. */
  sql(sql: string, database?: string): Promise<string>;
}

/** The GCS emulator and its bucket: host-run (testbed's GcsEmulator) or in the cluster. */
export interface TestBucket {
  /** STORAGE_EMULATOR_HOST as pods reach it. */
  readonly url: string;
  readonly bucket: string;
  /** Read through the emulator's own JSON API, not MLflow's. */
  listObjects(prefix?: string): Promise<GcsObject[]>;
  readObject(name: string): Promise<Buffer>;
  destroy(): Promise<void>;
}

export interface Ctx {
  opts: E2eOptions;
  log: Log;
  workDir: string;
  /** Generated for this run; only ever sent in a Secret through the API. */
  dbPassword: string;
  provider?: ClusterProvider;
  cluster?: ClusterInfo;
  tools?: Tools;
  kube?: Kube;
  image?: string;
  db?: TestDatabase;
  gcs?: TestBucket;
  valuesFile?: string;
  /** How helm names the chart: the local directory, or the OCI reference it was pushed to (with --version/--plain-http). */
  chart?: string[];
  /** How this machine reaches the releases (chosen by discover). */
  access?: Access;
  url?: string;
  client?: MlflowClient;
  written?: WrittenData;
}

export const BUCKET = "mlflow-e2e";
export const DB_SECRET = "mlflow-e2e-db";

/** Narrow a field a previous phase must have set, with a message saying which. */
export function need<K extends keyof Ctx>(ctx: Ctx, key: K, setBy: string): NonNullable<Ctx[K]> {
  const value = ctx[key];
  if (value === undefined || value === null) throw new Error(`internal: ${String(key)} is not set; phase "${setBy}" must run first`);
  return value as NonNullable<Ctx[K]>;
}
