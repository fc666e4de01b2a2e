import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { httpRequest, urlHost } from "./http.ts";
import { entrypointScript, ensurePythonVenv } from "./paths.ts";
import { dbEnv, type DbConnection } from "./postgres.ts";
import { freePort, startProcess, waitFor, type ManagedProcess } from "./process.ts";

export interface MlflowEnvOptions {
  /** The database (becomes DB_* env, as the chart sets it from values + Secret). */
  db: DbConnection;
  /** STORAGE_EMULATOR_HOST, e.g. the GcsEmulator's url. */
  storageEmulatorHost?: string;
  /** MLFLOW_SERVER_ALLOWED_HOSTS (comma-separated; MLflow's defaults when unset). */
  allowedHosts?: string;
  /** MLFLOW_SERVER_CORS_ALLOWED_ORIGINS. */
  corsAllowedOrigins?: string;
  /** DB_WAIT_TIMEOUT_SECONDS for the entrypoint; default its own (300). */
  dbWaitTimeoutSeconds?: number;
  /** GOOGLE_APPLICATION_CREDENTIALS (not needed with the emulator). */
  googleApplicationCredentials?: string;
  /** Anything else, last (overrides). */
  extraEnv?: Record<string, string>;
}

export interface MlflowServerOptions extends MlflowEnvOptions {
  /** Where artifacts go, e.g. gs://bucket/path. */
  artifactsDestination: string;
  /** --serve-artifacts --artifacts-destination (default) or --no-serve-artifacts --default-artifact-root. */
  serveArtifacts?: boolean;
  /** Bind address; default 127.0.0.1 (the chart uses 0.0.0.0 inside the pod). */
  host?: string;
  /** Default: a free port on `host`. */
  port?: number;
  /** --workers; default 1 (tests run on 2 cores). */
  workers?: number;
  extraArgs?: string[];
  /** Python of a venv with images/mlflow/requirements.txt; default ensurePythonVenv(). */
  python?: string;
  /** Wait for /health before returning; default true. */
  waitUntilReady?: boolean;
  /** Default 180 s (MLflow imports a lot; the database may be down on purpose). */
  readyTimeoutMs?: number;
}

/**
 * The environment the chart gives the container, plus the image's own ENV lines.
 * HOME (the chart's HOME=/tmp) is a private temp dir here.
 */
export function chartEnv(options: MlflowEnvOptions, python: string, home: string): Record<string, string> {
  const env: Record<string, string> = {
    // image ENV
    PATH: `${dirname(python)}:/usr/local/bin:/usr/bin:/bin`,
    TMPDIR: home,
    PYTHONDONTWRITEBYTECODE: "1",
    PYTHONUNBUFFERED: "1",
    MLFLOW_DISABLE_TELEMETRY: "true",
    DO_NOT_TRACK: "true",
    LANG: "C.UTF-8",
    // chart env
    HOME: home,
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
    ...dbEnv(options.db),
  };
  if (options.storageEmulatorHost) env["STORAGE_EMULATOR_HOST"] = options.storageEmulatorHost;
  if (options.allowedHosts) env["MLFLOW_SERVER_ALLOWED_HOSTS"] = options.allowedHosts;
  if (options.corsAllowedOrigins) env["MLFLOW_SERVER_CORS_ALLOWED_ORIGINS"] = options.corsAllowedOrigins;
  if (options.googleApplicationCredentials) env["GOOGLE_APPLICATION_CREDENTIALS"] = options.googleApplicationCredentials;
  if (options.dbWaitTimeoutSeconds !== undefined) env["DB_WAIT_TIMEOUT_SECONDS"] = String(options.dbWaitTimeoutSeconds);
  // Test-only guard for the network rule: should anything ask Google's metadata server
  // for credentials, send it to a closed loopback port, never to 169.254.169.254.
  env["GCE_METADATA_HOST"] = "127.0.0.1:9";
  env["GCE_METADATA_IP"] = "127.0.0.1:9";
  return { ...env, ...options.extraEnv };
}

/** The args the chart passes: server --host --port --serve-artifacts --artifacts-destination --workers. */
export function chartArgs(options: { host: string; port: number; artifactsDestination: string; serveArtifacts?: boolean; workers?: number; extraArgs?: string[] }): string[] {
  const serve = options.serveArtifacts ?? true;
  return [
    "server",
    "--host", options.host,
    "--port", String(options.port),
    serve ? "--serve-artifacts" : "--no-serve-artifacts",
    serve ? "--artifacts-destination" : "--default-artifact-root", options.artifactsDestination,
    "--workers", String(options.workers ?? 1),
    ...(options.extraArgs ?? []),
  ];
}

/**
 * A real MLflow server started THROUGH images/mlflow/mlflow_entrypoint.py with the
 * chart's env and args, in its own process group.
 */
export class MlflowServer {
  readonly host: string;
  readonly port: number;
  readonly python: string;
  readonly home: string;
  readonly args: readonly string[];
  private readonly env: Record<string, string>;
  private readonly readyTimeoutMs: number;
  private proc: ManagedProcess | undefined;
  private starts = 0;

  private constructor(init: { host: string; port: number; python: string; home: string; args: string[]; env: Record<string, string>; readyTimeoutMs: number }) {
    this.host = init.host;
    this.port = init.port;
    this.python = init.python;
    this.home = init.home;
    this.args = init.args;
    this.env = init.env;
    this.readyTimeoutMs = init.readyTimeoutMs;
  }

  static async create(options: MlflowServerOptions): Promise<MlflowServer> {
    const python = options.python ?? (await ensurePythonVenv());
    const host = options.host ?? "127.0.0.1";
    const port = options.port ?? (await freePort(host));
    const home = mkdtempSync(join(tmpdir(), "mlflow-k8s-home-"));
    const server = new MlflowServer({
      host,
      port,
      python,
      home,
      args: chartArgs({ host, port, artifactsDestination: options.artifactsDestination, serveArtifacts: options.serveArtifacts ?? true, workers: options.workers ?? 1, extraArgs: options.extraArgs ?? [] }),
      env: chartEnv(options, python, home),
      readyTimeoutMs: options.readyTimeoutMs ?? 180_000,
    });
    server.start();
    if (options.waitUntilReady ?? true) await server.waitUntilReady();
    return server;
  }

  /** e.g. http://127.0.0.1:41234 */
  get url(): string {
    return `http://${urlHost(this.host)}:${this.port}`;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** Process group id (= pid of the entrypoint, which execs mlflow). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get logFile(): string {
    return join(this.home, "mlflow-server.log");
  }

  /** Everything the entrypoint and MLflow logged, across restarts. */
  log(): string {
    return this.proc?.log() ?? "";
  }

  /** Starts the entrypoint (again, after stop()); does not wait. */
  start(): void {
    if (this.running) return;
    this.starts++;
    this.proc = startProcess("mlflow-server", this.python, [entrypointScript, ...this.args], {
      env: this.env,
      cwd: this.home,
      logFile: this.logFile,
    });
  }

  /** Polls GET /health until 200 "OK"; fails early with the log tail if the process exits. */
  async waitUntilReady(timeoutMs = this.readyTimeoutMs): Promise<void> {
    const proc = this.proc;
    if (!proc) throw new Error("mlflow server not started");
    await waitFor(
      async () => {
        const res = await httpRequest({ host: this.host, port: this.port, path: "/health", timeoutMs: 5_000 });
        return res.status === 200;
      },
      {
        timeoutMs,
        intervalMs: 500,
        what: `mlflow server /health on ${this.url}`,
        abortIf: () => (proc.running ? undefined : `mlflow server exited (${JSON.stringify(proc.exit)}):\n${proc.logTail(30)}`),
      },
    );
  }

  /** SIGTERM to the whole group (entrypoint/mlflow, uvicorn, workers, job runner), then SIGKILL. */
  async stop(): Promise<void> {
    if (!this.proc) return;
    await this.proc.stop({ graceMs: 20_000 });
  }

  async restart(): Promise<void> {
    await this.stop();
    this.start();
    await this.waitUntilReady();
  }

  /** Stops the server and removes its HOME. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.home, { recursive: true, force: true });
  }
}

export function startMlflowServer(options: MlflowServerOptions): Promise<MlflowServer> {
  return MlflowServer.create(options);
}

export interface EntrypointResult {
  code: number | null;
  /** stdout + stderr. */
  output: string;
}

/** Runs `mlflow-entrypoint <subcommand>` (migrate, wait) to completion with the chart's env. */
export async function runEntrypoint(subcommand: "migrate" | "wait", options: MlflowEnvOptions & { python?: string; timeoutMs?: number }): Promise<EntrypointResult> {
  const python = options.python ?? (await ensurePythonVenv());
  const home = mkdtempSync(join(tmpdir(), "mlflow-k8s-home-"));
  try {
    return await new Promise<EntrypointResult>((resolve) => {
      execFile(
        python,
        [entrypointScript, subcommand],
        { env: chartEnv(options, python, home), cwd: home, timeout: options.timeoutMs ?? 300_000, killSignal: "SIGKILL", maxBuffer: 16 << 20 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
          resolve({ code, output: `${stdout}${stderr}` });
        },
      );
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
