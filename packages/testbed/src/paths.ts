import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** Root of the monorepo (packages/testbed/src -> ../../..). */
export const repoRoot: string = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");
export const testbedRoot: string = join(repoRoot, "packages/testbed");
export const imageDir: string = join(repoRoot, "images/mlflow");
/** The entrypoint the image installs as /usr/local/bin/mlflow-entrypoint. */
export const entrypointScript: string = join(imageDir, "mlflow_entrypoint.py");

/** $MLFLOW_K8S_CACHE or ~/.cache/mlflow-k8s. */
export function cacheDir(): string {
  return process.env["MLFLOW_K8S_CACHE"] || join(homedir(), ".cache/mlflow-k8s");
}

/** $PG_BIN_DIR, else the newest PostgreSQL of the distribution (15 on Debian 12, 16 on Ubuntu 24.04). */
export function pgBinDir(): string {
  if (process.env["PG_BIN_DIR"]) return process.env["PG_BIN_DIR"];
  const base = "/usr/lib/postgresql";
  const installed = existsSync(base) ? readdirSync(base).filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, "bin/initdb"))) : [];
  const newest = installed.sort((a, b) => Number(b) - Number(a))[0];
  return join(base, newest ?? "15", "bin");
}

/** $FAKE_GCS_SERVER or the binary scripts/install-fake-gcs-server.sh puts in the cache. */
export function fakeGcsServerBinary(): string {
  return process.env["FAKE_GCS_SERVER"] || join(cacheDir(), "go/bin/fake-gcs-server");
}

/** Which requirement set of images/mlflow a venv holds (see scripts/install-python.sh). */
export type PythonVenvKind = "current" | "previous";

const venvPromises = new Map<PythonVenvKind, Promise<string>>();

/**
 * Runs scripts/install-python.sh (idempotent: seconds when the venv exists) and returns
 * the venv's python: "current" (default) has exactly images/mlflow/requirements.txt
 * installed (the image's pins), "previous" images/mlflow/requirements-previous.txt
 * (the older MLflow the upgrade test starts from).
 */
export function ensurePythonVenv(kind: PythonVenvKind = "current"): Promise<string> {
  let promise = venvPromises.get(kind);
  if (!promise) {
    promise = (async () => {
      const script = join(testbedRoot, "scripts/install-python.sh");
      const { stdout } = await execFileAsync("bash", [script, kind], { env: process.env, maxBuffer: 1 << 20, timeout: 30 * 60_000 });
      const venv = stdout.trim().split("\n").pop() ?? "";
      const python = join(venv, "bin/python");
      if (!existsSync(python)) throw new Error(`install-python.sh ${kind} printed ${venv}, which has no bin/python`);
      return python;
    })();
    venvPromises.set(kind, promise);
  }
  return promise;
}
