/** Every error this client throws extends MlflowError. */
export class MlflowError extends Error {
  override readonly name: string = "MlflowError";
  /** "METHOD /path" of the request that failed. */
  readonly request: string;
  constructor(message: string, request: string, options?: { cause?: unknown }) {
    super(message, options);
    this.request = request;
  }
}

/**
 * The server answered with an HTTP error. `errorCode` is MLflow's own code
 * (RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE, ...) when the
 * body is MLflow's JSON error, otherwise a code derived from the status.
 */
export class MlflowApiError extends MlflowError {
  override readonly name = "MlflowApiError";
  readonly errorCode: string;
  readonly httpStatus: number;
  /** The raw response body (at most 4 KiB). */
  readonly body: string;
  /** Milliseconds from a Retry-After header, if the server sent one. */
  readonly retryAfterMs: number | undefined;
  constructor(init: {
    errorCode: string;
    httpStatus: number;
    message: string;
    body: string;
    request: string;
    retryAfterMs?: number | undefined;
  }) {
    super(`${init.request} -> ${init.httpStatus} ${init.errorCode}: ${init.message}`, init.request);
    this.errorCode = init.errorCode;
    this.httpStatus = init.httpStatus;
    this.body = init.body;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** No HTTP answer: connection refused/reset, DNS failure, socket closed mid-response. */
export class MlflowNetworkError extends MlflowError {
  override readonly name = "MlflowNetworkError";
  /** The system error code, e.g. "ECONNREFUSED", "ECONNRESET"; undefined if unknown. */
  readonly code: string | undefined;
  constructor(message: string, request: string, code: string | undefined, cause: unknown) {
    super(message, request, { cause });
    this.code = code;
  }
}

/** The request did not complete within the client's per-request timeout. */
export class MlflowTimeoutError extends MlflowError {
  override readonly name = "MlflowTimeoutError";
  readonly timeoutMs: number;
  constructor(request: string, timeoutMs: number, cause: unknown) {
    super(`${request} timed out after ${timeoutMs} ms`, request, { cause });
    this.timeoutMs = timeoutMs;
  }
}

/** MLflow's codes for statuses whose body is not MLflow JSON (proxies, the host check). */
const CODE_FOR_STATUS: Record<number, string> = {
  400: "BAD_REQUEST",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "ENDPOINT_NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  409: "ABORTED",
  429: "REQUEST_LIMIT_EXCEEDED",
  500: "INTERNAL_ERROR",
  501: "NOT_IMPLEMENTED",
  502: "BAD_GATEWAY",
  503: "TEMPORARILY_UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** Builds the error for a non-2xx response from its status, body text and headers. */
export function apiErrorFrom(
  request: string,
  httpStatus: number,
  bodyText: string,
  retryAfter: string | null = null,
): MlflowApiError {
  const body = bodyText.length > 4096 ? `${bodyText.slice(0, 4096)}...` : bodyText;
  let errorCode = CODE_FOR_STATUS[httpStatus] ?? `HTTP_${httpStatus}`;
  let message = body.trim().replace(/\s+/g, " ").slice(0, 500) || `HTTP ${httpStatus}`;
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (parsed && typeof parsed === "object") {
      const o = parsed as { error_code?: unknown; message?: unknown };
      if (typeof o.error_code === "string") errorCode = o.error_code;
      if (typeof o.message === "string") message = o.message;
    }
  } catch {
    // not JSON: keep the status-derived code and the text
  }
  return new MlflowApiError({
    errorCode,
    httpStatus,
    message,
    body,
    request,
    retryAfterMs: parseRetryAfter(retryAfter),
  });
}

export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Statuses worth retrying: rate limiting and gateway/availability errors. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
/** Socket errors after which the request may not have reached the server. */
export const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
]);

/**
 * Whether a failed attempt may be retried. Idempotent requests retry every transient
 * failure (429/502/503/504, network errors, timeouts); other requests only retry a
 * refused connection, which proves the server never saw them.
 */
export function isRetryable(error: unknown, idempotent: boolean): boolean {
  if (error instanceof MlflowApiError) return idempotent && TRANSIENT_STATUSES.has(error.httpStatus);
  if (error instanceof MlflowNetworkError) {
    if (error.code === "ECONNREFUSED") return true;
    return idempotent && (error.code === undefined || TRANSIENT_NETWORK_CODES.has(error.code));
  }
  if (error instanceof MlflowTimeoutError) return idempotent;
  return false;
}

export function isNotFound(error: unknown): error is MlflowApiError {
  return error instanceof MlflowApiError && error.errorCode === "RESOURCE_DOES_NOT_EXIST";
}

export function isAlreadyExists(error: unknown): error is MlflowApiError {
  return error instanceof MlflowApiError && error.errorCode === "RESOURCE_ALREADY_EXISTS";
}
