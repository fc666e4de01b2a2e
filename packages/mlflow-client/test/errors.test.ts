import { describe, expect, it } from "vitest";
import {
  apiErrorFrom,
  isAlreadyExists,
  isNotFound,
  isRetryable,
  MlflowNetworkError,
  MlflowTimeoutError,
  parseRetryAfter,
} from "../src/index.ts";

describe("apiErrorFrom", () => {
  it("takes MLflow's error_code and message from a JSON body", () => {
    const e = apiErrorFrom("POST /x", 400, JSON.stringify({ error_code: "RESOURCE_ALREADY_EXISTS", message: "Experiment 'a' already exists." }));
    expect(e.errorCode).toBe("RESOURCE_ALREADY_EXISTS");
    expect(e.httpStatus).toBe(400);
    expect(e.message).toContain("Experiment 'a' already exists.");
    expect(isAlreadyExists(e)).toBe(true);
  });

  it("derives a code from the status for a plain-text body", () => {
    const e = apiErrorFrom("GET /api", 403, "Invalid Host header");
    expect(e.errorCode).toBe("PERMISSION_DENIED");
    expect(e.message).toContain("Invalid Host header");
  });

  it("recognises RESOURCE_DOES_NOT_EXIST as not found", () => {
    expect(isNotFound(apiErrorFrom("GET /r", 404, '{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run x not found"}'))).toBe(true);
  });

  it("reads Retry-After in seconds and as a date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
});

describe("isRetryable", () => {
  const status = (s: number) => apiErrorFrom("GET /x", s, "");
  const net = (code: string | undefined) => new MlflowNetworkError("x", "POST /x", code, undefined);

  it.each([429, 502, 503, 504])("retries %i for idempotent requests", (s) => {
    expect(isRetryable(status(s), true)).toBe(true);
  });

  it.each([400, 401, 403, 404, 500])("never retries %i", (s) => {
    expect(isRetryable(status(s), true)).toBe(false);
  });

  it("does not retry a 503 for a request that is unsafe to repeat", () => {
    expect(isRetryable(status(503), false)).toBe(false);
  });

  it("retries a refused connection even for unsafe requests: the server never saw them", () => {
    expect(isRetryable(net("ECONNREFUSED"), false)).toBe(true);
  });

  it("retries a reset connection only for idempotent requests", () => {
    expect(isRetryable(net("ECONNRESET"), true)).toBe(true);
    expect(isRetryable(net("ECONNRESET"), false)).toBe(false);
  });

  it("retries timeouts only for idempotent requests", () => {
    const t = new MlflowTimeoutError("GET /x", 10, undefined);
    expect(isRetryable(t, true)).toBe(true);
    expect(isRetryable(t, false)).toBe(false);
  });
});
