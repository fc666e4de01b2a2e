import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpRequest, urlHost } from "./http.ts";
import { fakeGcsServerBinary } from "./paths.ts";
import { freePort, startProcess, waitFor, type ManagedProcess } from "./process.ts";
import { GcsJsonApi, type GcsObject } from "./gcs-json.ts";

export type { GcsObject };

export interface GcsEmulatorOptions {
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Default: a free port picked on `host`. */
  port?: number;
  /** Bucket created before start() returns; default "mlflow-artifacts". */
  bucket?: string;
  /** fake-gcs-server binary; default $FAKE_GCS_SERVER or the cache's go/bin. */
  binary?: string;
  /** Parent for the emulator's files; default a new dir under the OS temp dir. */
  baseDir?: string;
  readyTimeoutMs?: number;
}

/**
 * fake-gcs-server (the real GCS JSON API, plain HTTP) with its objects on disk, so they
 * survive a restart of the emulator too. Point google-cloud-storage at it with
 * STORAGE_EMULATOR_HOST=`emulatorHost`.
 */
export class GcsEmulator {
  readonly host: string;
  readonly port: number;
  readonly bucket: string;
  readonly baseDir: string;
  readonly binary: string;
  private readonly readyTimeoutMs: number;
  private proc: ManagedProcess | undefined;

  private constructor(init: { host: string; port: number; bucket: string; baseDir: string; binary: string; readyTimeoutMs: number }) {
    this.host = init.host;
    this.port = init.port;
    this.bucket = init.bucket;
    this.baseDir = init.baseDir;
    this.binary = init.binary;
    this.readyTimeoutMs = init.readyTimeoutMs;
  }

  static async create(options: GcsEmulatorOptions = {}): Promise<GcsEmulator> {
    const binary = options.binary ?? fakeGcsServerBinary();
    if (!existsSync(binary)) {
      throw new Error(`fake-gcs-server not found at ${binary}: run packages/testbed/scripts/install-fake-gcs-server.sh`);
    }
    const host = options.host ?? "127.0.0.1";
    const emulator = new GcsEmulator({
      host,
      port: options.port ?? (await freePort(host)),
      bucket: options.bucket ?? "mlflow-artifacts",
      baseDir: mkdtempSync(join(options.baseDir ?? tmpdir(), "mlflow-k8s-gcs-")),
      binary,
      readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    });
    await emulator.start();
    await emulator.createBucket(emulator.bucket);
    return emulator;
  }

  /** Base URL, e.g. http://127.0.0.1:4443: the value for STORAGE_EMULATOR_HOST. */
  get url(): string {
    return `http://${urlHost(this.host)}:${this.port}`;
  }

  get emulatorHost(): string {
    return this.url;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** gs://<bucket>/<path> */
  gsUri(path = ""): string {
    return `gs://${this.bucket}${path ? `/${path.replace(/^\/+/, "")}` : ""}`;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const root = join(this.baseDir, "storage");
    mkdirSync(root, { recursive: true });
    const proc = startProcess("fake-gcs-server", this.binary, [
      "-scheme", "http",
      "-host", this.host,
      "-port", String(this.port),
      "-backend", "filesystem",
      "-filesystem-root", root,
      "-external-url", this.url,
      "-public-host", `${urlHost(this.host)}:${this.port}`,
      "-log-level", "warn",
    ], { env: { PATH: "/usr/bin:/bin", HOME: this.baseDir }, logFile: join(this.baseDir, "fake-gcs-server.log") });
    this.proc = proc;
    await waitFor(async () => this.json.ready(), {
      timeoutMs: this.readyTimeoutMs,
      what: `fake-gcs-server on ${this.url}`,
      abortIf: () => (proc.running ? undefined : `fake-gcs-server exited: ${proc.logTail(15)}`),
    });
  }

  async stop(): Promise<void> {
    if (!this.proc) return;
    await this.proc.stop({ graceMs: 10_000 });
    this.proc = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.baseDir, { recursive: true, force: true });
  }

  log(): string {
    return this.proc?.log() ?? "";
  }

  private readonly json = new GcsJsonApi((method, path, body) =>
    httpRequest({
      host: this.host,
      port: this.port,
      method,
      path,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );

  /** POST /storage/v1/b: creates a bucket (an existing one is fine). */
  createBucket(name: string): Promise<void> {
    return this.json.createBucket(name);
  }

  /** Every object under `prefix`, through the emulator's own JSON API (GET /storage/v1/b/<bucket>/o). */
  listObjects(prefix = "", bucket = this.bucket): Promise<GcsObject[]> {
    return this.json.listObjects(bucket, prefix);
  }

  /** An object's bytes (GET ...?alt=media). */
  readObject(name: string, bucket = this.bucket): Promise<Buffer> {
    return this.json.readObject(bucket, name);
  }
}

export function startGcsEmulator(options: GcsEmulatorOptions = {}): Promise<GcsEmulator> {
  return GcsEmulator.create(options);
}
