/** State shared by the e2e phases. Each phase fills in what the next ones need. */
import type { ClusterInfo, ClusterProvider } from "@mlflow-k8s/cluster";
import type { MlflowClient } from "@mlflow-k8s/mlflow-client";
import type { GcsEmulator, PostgresServer } from "@mlflow-k8s/testbed";
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
  db?: PostgresServer;
  gcs?: GcsEmulator;
  valuesFile?: string;
  /** How helm names the chart: the local directory, or the OCI reference it was pushed to (with --version/--plain-http). */
  chart?: string[];
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
