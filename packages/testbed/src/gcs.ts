import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpRequest, urlHost } from "./http.ts";
import { fakeGcsServerBinary } from "./paths.ts";
import { freePort, startProcess, waitFor, type ManagedProcess } from "./process.ts";

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

/** One object as the emulator's JSON API lists it. */
export interface GcsObject {
  bucket: string;
  name: string;
  size: number;
  contentType?: string;
  md5Hash?: string;
  /** gs://bucket/name */
  uri: string;
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
    await waitFor(async () => (await this.api("GET", "/storage/v1/b")).status === 200, {
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

  private async api(method: string, path: string, body?: unknown) {
    return httpRequest({
      host: this.host,
      port: this.port,
      method,
      path,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  /** POST /storage/v1/b: creates a bucket (an existing one is fine). */
  async createBucket(name: string): Promise<void> {
    const res = await this.api("POST", "/storage/v1/b?project=mlflow-k8s-test", { name });
    if (res.status !== 200 && res.status !== 409) {
      throw new Error(`creating bucket ${name} in the emulator: HTTP ${res.status} ${res.text}`);
    }
  }

  /** Every object under `prefix`, through the emulator's own JSON API (GET /storage/v1/b/<bucket>/o). */
  async listObjects(prefix = "", bucket = this.bucket): Promise<GcsObject[]> {
    const out: GcsObject[] = [];
    let pageToken: string | undefined;
    do {
      const q = new URLSearchParams({ prefix });
      if (pageToken) q.set("pageToken", pageToken);
      const res = await this.api("GET", `/storage/v1/b/${encodeURIComponent(bucket)}/o?${q.toString()}`);
      if (res.status !== 200) throw new Error(`listing gs://${bucket}/${prefix}: HTTP ${res.status} ${res.text}`);
      const page = JSON.parse(res.text) as { items?: { name: string; size?: string | number; contentType?: string; md5Hash?: string }[]; nextPageToken?: string };
      for (const item of page.items ?? []) {
        out.push({
          bucket,
          name: item.name,
          size: Number(item.size ?? 0),
          ...(item.contentType ? { contentType: item.contentType } : {}),
          ...(item.md5Hash ? { md5Hash: item.md5Hash } : {}),
          uri: `gs://${bucket}/${item.name}`,
        });
      }
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    return out;
  }

  /** An object's bytes (GET ...?alt=media). */
  async readObject(name: string, bucket = this.bucket): Promise<Buffer> {
    const res = await this.api("GET", `/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}?alt=media`);
    if (res.status !== 200) throw new Error(`reading gs://${bucket}/${name}: HTTP ${res.status} ${res.text}`);
    return res.body;
  }
}

export function startGcsEmulator(options: GcsEmulatorOptions = {}): Promise<GcsEmulator> {
  return GcsEmulator.create(options);
}
