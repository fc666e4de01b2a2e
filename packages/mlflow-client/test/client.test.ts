// Error-path behaviour of the transport, against a fake fetch (named as such). Real
// behaviour is tested against a real MLflow server in packages/testbed.
import { FetchError, Response, type RequestInit } from "node-fetch";
import { describe, expect, it } from "vitest";
import {
  artifactRootPath,
  encodePath,
  MlflowApiError,
  MlflowClient,
  MlflowNetworkError,
  MlflowTimeoutError,
  type FetchLike,
  type RetryInfo,
} from "../src/index.ts";

type Step = (url: string, init: RequestInit) => Promise<Response>;

function fakeFetch(...steps: Step[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, init });
    const step = steps[Math.min(calls.length - 1, steps.length - 1)]!;
    return step(url, init);
  };
  return { fetch, calls };
}

const status = (code: number, body = "", headers: Record<string, string> = {}): Step => async () => new Response(body, { status: code, headers });
const ok = (json: unknown): Step => async () => new Response(JSON.stringify(json), { status: 200 });
const refused: Step = async () => {
  throw new FetchError("request to http://127.0.0.1:1/ failed, reason: connect ECONNREFUSED", "system", { code: "ECONNREFUSED" });
};
const reset: Step = async () => {
  throw new FetchError("socket hang up", "system", { code: "ECONNRESET" });
};
const hang: Step = (_url, init) =>
  new Promise((_resolve, reject) => {
    init.signal?.addEventListener("abort", () => reject(Object.assign(new Error("The operation was aborted."), { name: "AbortError" })));
  });

function client(fetch: FetchLike, extra: Partial<ConstructorParameters<typeof MlflowClient>[0]> = {}) {
  return new MlflowClient({ baseUrl: "http://127.0.0.1:5000", fetch, minRetryDelayMs: 1, maxRetryDelayMs: 2, ...extra });
}

describe("MlflowClient transport", () => {
  it("maps MLflow's JSON error to MlflowApiError with code and status", async () => {
    const fake = fakeFetch(status(400, '{"error_code":"RESOURCE_ALREADY_EXISTS","message":"exists"}'));
    const err = await client(fake.fetch).createExperiment("a").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowApiError);
    expect(err).toMatchObject({ errorCode: "RESOURCE_ALREADY_EXISTS", httpStatus: 400, request: "POST /api/2.0/mlflow/experiments/create" });
    expect(fake.calls).toHaveLength(1);
  });

  it("retries a 503 on an idempotent call and then succeeds", async () => {
    const fake = fakeFetch(status(503), status(502), ok({ run: { info: { run_id: "r" }, data: {} } }));
    const retries: RetryInfo[] = [];
    const run = await client(fake.fetch, { onRetry: (i) => retries.push(i) }).getRun("r");
    expect(run.info.run_id).toBe("r");
    expect(fake.calls).toHaveLength(3);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it("does not retry a 503 on createRun, which is unsafe to repeat", async () => {
    const fake = fakeFetch(status(503), ok({}));
    await expect(client(fake.fetch).createRun({ experimentId: "1" })).rejects.toMatchObject({ httpStatus: 503 });
    expect(fake.calls).toHaveLength(1);
  });

  it("retries a refused connection even on createExperiment", async () => {
    const fake = fakeFetch(refused, ok({ experiment_id: "7" }));
    expect(await client(fake.fetch).createExperiment("a")).toBe("7");
    expect(fake.calls).toHaveLength(2);
  });

  it("does not retry a reset connection on createRun", async () => {
    const fake = fakeFetch(reset, ok({}));
    const err = await client(fake.fetch).createRun({ experimentId: "1" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowNetworkError);
    expect(err).toMatchObject({ code: "ECONNRESET" });
    expect(fake.calls).toHaveLength(1);
  });

  it("gives up after the configured retries with the last error", async () => {
    const fake = fakeFetch(status(504));
    await expect(client(fake.fetch, { retries: 2 }).health()).rejects.toMatchObject({ httpStatus: 504, errorCode: "DEADLINE_EXCEEDED" });
    expect(fake.calls).toHaveLength(3);
  });

  it("never retries a 404", async () => {
    const fake = fakeFetch(status(404, '{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run x not found"}'));
    await expect(client(fake.fetch).getRun("x")).rejects.toMatchObject({ httpStatus: 404, errorCode: "RESOURCE_DOES_NOT_EXIST" });
    expect(fake.calls).toHaveLength(1);
  });

  it("turns a request that outlives the timeout into MlflowTimeoutError", async () => {
    const fake = fakeFetch(hang);
    const err = await client(fake.fetch, { timeoutMs: 30, retries: 1 }).version().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowTimeoutError);
    expect(err).toMatchObject({ timeoutMs: 30 });
    expect(fake.calls).toHaveLength(2);
  });

  it("sends basic auth, bearer tokens and extra headers", async () => {
    const basic = fakeFetch(status(200, "OK"));
    await client(basic.fetch, { auth: { type: "basic", username: "u", password: "p:w" }, headers: { "x-extra": "1" } }).health();
    const h = basic.calls[0]!.init.headers as Record<string, string>;
    expect(h["authorization"]).toBe(`Basic ${Buffer.from("u:p:w").toString("base64")}`);
    expect(h["x-extra"]).toBe("1");
    const bearer = fakeFetch(status(200, "OK"));
    await client(bearer.fetch, { auth: { type: "bearer", token: "t0k" } }).health();
    expect((bearer.calls[0]!.init.headers as Record<string, string>)["authorization"]).toBe("Bearer t0k");
  });

  it("sends log-batch in chunks within MLflow's limits", async () => {
    const fake = fakeFetch(ok({}));
    const metrics = Array.from({ length: 2001 }, (_, i) => ({ key: "loss", value: i, timestamp: 1, step: i }));
    expect(await client(fake.fetch).logBatch("r", { metrics })).toBe(3);
    const sizes = fake.calls.map((c) => (JSON.parse(String(c.init.body)) as { metrics: unknown[] }).metrics.length);
    expect(sizes).toEqual([1000, 1000, 1]);
  });
});

describe("artifact paths", () => {
  it("uses the run's mlflow-artifacts: URI", () => {
    expect(artifactRootPath({ run_id: "r", experiment_id: "1", status: "RUNNING", lifecycle_stage: "active", artifact_uri: "mlflow-artifacts:/1/r/artifacts" })).toBe("1/r/artifacts");
    expect(artifactRootPath({ experimentId: "2", runId: "s" })).toBe("2/s/artifacts");
  });

  it("refuses a run whose artifacts are not behind the proxy", () => {
    expect(() => artifactRootPath({ run_id: "r", experiment_id: "1", status: "RUNNING", lifecycle_stage: "active", artifact_uri: "gs://b/p/1/r/artifacts" })).toThrow(/--serve-artifacts/);
  });

  it("encodes each path segment", () => {
    expect(encodePath("1/r/artifacts/dir/a b#c?.txt")).toBe("1/r/artifacts/dir/a%20b%23c%3F.txt");
  });
});
