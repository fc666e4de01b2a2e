import nodeFetch, { type RequestInit, type Response } from "node-fetch";
import pRetry from "p-retry";
import { chunkBatch, MLFLOW_BATCH_LIMITS, type BatchLimits } from "./batch.ts";
import {
  apiErrorFrom,
  isRetryable,
  MlflowApiError,
  MlflowError,
  MlflowNetworkError,
  MlflowTimeoutError,
} from "./errors.ts";
import type {
  Batch,
  Experiment,
  FileInfo,

  Page,

  Run,
  RunInfo,
  RunStatus,
  Tag,
  ViewType,
} from "./types.ts";

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export type Auth =
  | { type: "basic"; username: string; password: string }
  | { type: "bearer"; token: string };

export interface RetryInfo {
  request: string;
  attempt: number;
  error: MlflowError;
  delayMs: number;
}

export interface MlflowClientOptions {
  /** Server root, e.g. "http://127.0.0.1:5000" (a path prefix such as "/mlflow" is kept). */
  baseUrl: string;
  auth?: Auth;
  /**
   * Extra headers sent with every request. Note: fetch does not let a caller override
   * `Host`; to test the server's host check, use node:http directly.
   */
  headers?: Record<string, string>;
  /** Per-request timeout (each attempt), default 30 000 ms. */
  timeoutMs?: number;
  /** Retries after the first attempt for retryable failures, default 4. */
  retries?: number;
  /** First backoff delay, default 250 ms; doubles up to maxRetryDelayMs (default 5000). */
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Called before each retry (for logging). */
  onRetry?: (info: RetryInfo) => void;
  /** Replaces node-fetch (tests use a fake here). */
  fetch?: FetchLike;
  /** Override MLflow's log-batch limits (only ever lower them). */
  batchLimits?: BatchLimits;
}

export interface RequestOptions {
  /** Safe to send twice: enables retries on every transient failure. */
  idempotent: boolean;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  body?: Uint8Array | string;
  contentType?: string;
  signal?: AbortSignal;
}

/** Where a run's artifacts live behind the artifact proxy. */
export type ArtifactRunRef = RunInfo | { experimentId: string; runId: string };

export interface SearchExperimentsOptions {
  filter?: string;
  maxResults?: number;
  orderBy?: string[];
  viewType?: ViewType;
  pageToken?: string;
}

export interface SearchRunsOptions {
  experimentIds: string[];
  filter?: string;
  runViewType?: ViewType;
  /** Page size, at most 50 000 on MLflow; default 1000. */
  maxResults?: number;
  orderBy?: string[];
  pageToken?: string;
}

const API = "/api/2.0/mlflow";
const ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts";

/** Encodes each segment of a slash-separated path, keeping the slashes. */
export function encodePath(path: string): string {
  return path
    .split("/")
    .filter((s) => s !== "")
    .map(encodeURIComponent)
    .join("/");
}

/**
 * The path of a run's artifact root under the artifact proxy: "<exp>/<run>/artifacts" or
 * what the run's `mlflow-artifacts:` artifact_uri says.
 */
export function artifactRootPath(run: ArtifactRunRef): string {
  if ("run_id" in run) {
    const uri = run.artifact_uri;
    if (uri !== undefined) {
      const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(uri);
      if (!m) {
        throw new MlflowError(
          `run ${run.run_id} stores artifacts at ${uri}, not behind the artifact proxy ` +
            "(start the server with --serve-artifacts)",
          "artifacts",
        );
      }
      return (m[1] ?? "").replace(/\/+$/, "");
    }
    return `${run.experiment_id}/${run.run_id}/artifacts`;
  }
  return `${run.experimentId}/${run.runId}/artifacts`;
}

function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === "object"; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string") return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class MlflowClient {
  readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly minRetryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly onRetry: ((info: RetryInfo) => void) | undefined;
  private readonly fetchImpl: FetchLike;
  private readonly batchLimits: BatchLimits;

  constructor(options: MlflowClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`baseUrl must be http(s), got ${url.protocol}`);
    }
    this.baseUrl = url.toString().replace(/\/+$/, "");
    this.headers = { ...options.headers };
    if (options.auth?.type === "basic") {
      const token = Buffer.from(`${options.auth.username}:${options.auth.password}`).toString("base64");
      this.headers["authorization"] = `Basic ${token}`;
    } else if (options.auth?.type === "bearer") {
      this.headers["authorization"] = `Bearer ${options.auth.token}`;
    }
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 4;
    this.minRetryDelayMs = options.minRetryDelayMs ?? 250;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 5_000;
    this.onRetry = options.onRetry;
    this.fetchImpl = options.fetch ?? (nodeFetch as FetchLike);
    this.batchLimits = options.batchLimits ?? MLFLOW_BATCH_LIMITS;
  }

  // --- transport ------------------------------------------------------------------------

  /** One HTTP exchange with retries; resolves to the successful response's body bytes. */
  async request(method: string, path: string, options: RequestOptions): Promise<Buffer> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const label = `${method} ${path}`;
    return pRetry(
      async () => this.attempt(method, url.toString(), label, options),
      {
        retries: this.retries,
        factor: 2,
        minTimeout: this.minRetryDelayMs,
        maxTimeout: this.maxRetryDelayMs,
        ...(options.signal ? { signal: options.signal } : {}),
        shouldRetry: ({ error }) => isRetryable(error, options.idempotent),
        onFailedAttempt: async ({ error, retryDelay, attemptNumber }) => {
          if (!isRetryable(error, options.idempotent) || retryDelay === 0) return;
          const retryAfter = error instanceof MlflowApiError ? error.retryAfterMs : undefined;
          const extra = retryAfter !== undefined ? Math.max(0, Math.min(retryAfter, this.maxRetryDelayMs) - retryDelay) : 0;
          this.onRetry?.({ request: label, attempt: attemptNumber, error: error as MlflowError, delayMs: retryDelay + extra });
          if (extra > 0) await sleep(extra);
        },
      },
    );
  }

  private async attempt(method: string, url: string, label: string, options: RequestOptions): Promise<Buffer> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const headers: Record<string, string> = { accept: "application/json", ...this.headers };
    let body: string | Buffer | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers["content-type"] = "application/json";
    } else if (options.body !== undefined) {
      body = typeof options.body === "string" ? options.body : Buffer.from(options.body.buffer, options.body.byteOffset, options.body.byteLength);
      headers["content-type"] = options.contentType ?? "application/octet-stream";
    }
    try {
      const res = await this.fetchImpl(url, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: signal as NonNullable<RequestInit["signal"]>,
        redirect: "manual",
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      if (res.status < 200 || res.status >= 300) {
        throw apiErrorFrom(label, res.status, bytes.toString("utf8"), res.headers.get("retry-after"));
      }
      return bytes;
    } catch (e) {
      if (e instanceof MlflowError) throw e;
      if (timeout.aborted) throw new MlflowTimeoutError(label, this.timeoutMs, e);
      if (options.signal?.aborted) throw e; // the caller's own abort: not ours to wrap
      const code = errorCode(e);
      const reason = e instanceof Error ? e.message : String(e);
      throw new MlflowNetworkError(`${label} failed: ${reason}`, label, code, e);
    }
  }

  private async call<T>(method: "GET" | "POST" | "PATCH" | "DELETE", endpoint: string, idempotent: boolean, payload?: Record<string, unknown>): Promise<T> {
    const options: RequestOptions = { idempotent };
    if (method === "GET") {
      options.query = payload as Record<string, string | number | undefined> | undefined;
    } else {
      options.json = payload ?? {};
    }
    const bytes = await this.request(method, `${API}/${endpoint}`, options);
    const text = bytes.toString("utf8");
    return (text.trim() === "" ? {} : JSON.parse(text)) as T;
  }

  // --- server ---------------------------------------------------------------------------

  /** GET /health: "OK" when the server is up (exempt from the host check). */
  async health(): Promise<string> {
    return (await this.request("GET", "/health", { idempotent: true })).toString("utf8").trim();
  }

  /** GET /version: the MLflow version string, e.g. "3.17.2". */
  async version(): Promise<string> {
    return (await this.request("GET", "/version", { idempotent: true })).toString("utf8").trim();
  }

  // --- experiments ----------------------------------------------------------------------

  /** Creates an experiment and returns its id. Not retried except on a refused connection. */
  async createExperiment(name: string, options: { artifactLocation?: string; tags?: Tag[] } = {}): Promise<string> {
    const res = await this.call<{ experiment_id: string }>("POST", "experiments/create", false, {
      name,
      artifact_location: options.artifactLocation,
      tags: options.tags,
    });
    return res.experiment_id;
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    return (await this.call<{ experiment: Experiment }>("GET", "experiments/get", true, { experiment_id: experimentId })).experiment;
  }

  /** Throws MlflowApiError RESOURCE_DOES_NOT_EXIST (404) when there is none. */
  async getExperimentByName(name: string): Promise<Experiment> {
    return (await this.call<{ experiment: Experiment }>("GET", "experiments/get-by-name", true, { experiment_name: name })).experiment;
  }

  async searchExperiments(options: SearchExperimentsOptions = {}): Promise<Page<Experiment>> {
    const res = await this.call<{ experiments?: Experiment[]; next_page_token?: string }>("POST", "experiments/search", true, {
      filter: options.filter,
      max_results: options.maxResults ?? 1000,
      order_by: options.orderBy,
      view_type: options.viewType,
      page_token: options.pageToken,
    });
    return { items: res.experiments ?? [], nextPageToken: res.next_page_token || undefined };
  }

  /** Soft delete: the name stays taken until the experiment is purged. */
  async deleteExperiment(experimentId: string): Promise<void> {
    await this.call("POST", "experiments/delete", true, { experiment_id: experimentId });
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    await this.call("POST", "experiments/restore", true, { experiment_id: experimentId });
  }

  // --- runs -----------------------------------------------------------------------------

  /** Creates a run (status RUNNING). Not retried except on a refused connection. */
  async createRun(options: { experimentId: string; runName?: string; startTime?: number; tags?: Tag[] }): Promise<Run> {
    const res = await this.call<{ run: Run }>("POST", "runs/create", false, {
      experiment_id: options.experimentId,
      run_name: options.runName,
      start_time: options.startTime ?? Date.now(),
      tags: options.tags,
    });
    return res.run;
  }

  async getRun(runId: string): Promise<Run> {
    return (await this.call<{ run: Run }>("GET", "runs/get", true, { run_id: runId })).run;
  }

  async updateRun(runId: string, update: { status?: RunStatus; endTime?: number; runName?: string }): Promise<RunInfo> {
    const res = await this.call<{ run_info: RunInfo }>("POST", "runs/update", true, {
      run_id: runId,
      status: update.status,
      end_time: update.endTime,
      run_name: update.runName,
    });
    return res.run_info;
  }

  /** Marks a run terminated (FINISHED by default) with end_time now. */
  async finishRun(runId: string, status: Exclude<RunStatus, "RUNNING" | "SCHEDULED"> = "FINISHED"): Promise<RunInfo> {
    return this.updateRun(runId, { status, endTime: Date.now() });
  }

  async searchRuns(options: SearchRunsOptions): Promise<Page<Run>> {
    const res = await this.call<{ runs?: Run[]; next_page_token?: string }>("POST", "runs/search", true, {
      experiment_ids: options.experimentIds,
      filter: options.filter,
      run_view_type: options.runViewType,
      max_results: options.maxResults ?? 1000,
      order_by: options.orderBy,
      page_token: options.pageToken,
    });
    return { items: res.runs ?? [], nextPageToken: res.next_page_token || undefined };
  }

  /** Every page of a run search, in order. */
  async *iterateRuns(options: Omit<SearchRunsOptions, "pageToken">): AsyncGenerator<Run[], void, undefined> {
    let pageToken: string | undefined;
    do {
      const page = await this.searchRuns({ ...options, ...(pageToken ? { pageToken } : {}) });
      if (page.items.length > 0) yield page.items;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  async searchAllRuns(options: Omit<SearchRunsOptions, "pageToken">): Promise<Run[]> {
    const all: Run[] = [];
    for await (const page of this.iterateRuns(options)) all.push(...page);
    return all;
  }

  /** Soft delete. */
  async deleteRun(runId: string): Promise<void> {
    await this.call("POST", "runs/delete", true, { run_id: runId });
  }

  async restoreRun(runId: string): Promise<void> {
    await this.call("POST", "runs/restore", true, { run_id: runId });
  }

  // --- logging --------------------------------------------------------------------------

  /** Params are immutable: logging the same key with another value fails (400). */
  async logParam(runId: string, key: string, value: string): Promise<void> {
    await this.call("POST", "runs/log-parameter", true, { run_id: runId, key, value });
  }

  async logMetric(runId: string, key: string, value: number, options: { timestamp?: number; step?: number } = {}): Promise<void> {
    await this.call("POST", "runs/log-metric", true, {
      run_id: runId,
      key,
      value,
      timestamp: options.timestamp ?? Date.now(),
      step: options.step ?? 0,
    });
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.call("POST", "runs/set-tag", true, { run_id: runId, key, value });
  }

  /**
   * Logs any number of metrics, params and tags, split into requests within MLflow's
   * limits (1000 metrics, 100 params, 100 tags, 1000 items per request). Returns the
   * number of requests sent.
   */
  async logBatch(runId: string, batch: Batch): Promise<number> {
    const chunks = chunkBatch(batch, this.batchLimits);
    for (const chunk of chunks) {
      await this.call("POST", "runs/log-batch", true, {
        run_id: runId,
        metrics: chunk.metrics ?? [],
        params: chunk.params ?? [],
        tags: chunk.tags ?? [],
      });
    }
    return chunks.length;
  }

  // --- artifacts (through the server's artifact proxy) -----------------------------------

  /** PUT one file at `path` (relative to the run's artifact root). Overwrites. */
  async uploadArtifact(run: ArtifactRunRef, path: string, data: Uint8Array | string, contentType?: string): Promise<void> {
    const target = `${artifactRootPath(run)}/${path}`;
    await this.request("PUT", `${ARTIFACTS}/${encodePath(target)}`, {
      idempotent: true,
      body: data,
      ...(contentType ? { contentType } : {}),
    });
  }

  /**
   * Lists one directory level under the run's artifact root (`path` "" for the root).
   * Returned paths are relative to the run's artifact root, like MLflow's own
   * `artifacts/list` (so "dir/file.txt" for `listArtifacts(run, "dir")`), ready for
   * downloadArtifact.
   */
  async listArtifacts(run: ArtifactRunRef, path = ""): Promise<FileInfo[]> {
    const sub = path.replace(/^\/+|\/+$/g, "");
    const dir = [artifactRootPath(run), sub].filter((s) => s !== "").join("/");
    const bytes = await this.request("GET", ARTIFACTS, { idempotent: true, query: { path: dir } });
    const res = JSON.parse(bytes.toString("utf8") || "{}") as { files?: FileInfo[] };
    return (res.files ?? []).map((f) => ({ ...f, path: sub ? `${sub}/${f.path}` : f.path }));
  }

  async downloadArtifact(run: ArtifactRunRef, path: string): Promise<Buffer> {
    const target = `${artifactRootPath(run)}/${path}`;
    return this.request("GET", `${ARTIFACTS}/${encodePath(target)}`, { idempotent: true });
  }
}

