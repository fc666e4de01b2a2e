export {
  MlflowClient,
  artifactRootPath,
  encodePath,
  type ArtifactRunRef,
  type Auth,
  type FetchLike,
  type MlflowClientOptions,
  type RequestOptions,
  type RetryInfo,
  type SearchExperimentsOptions,
  type SearchRunsOptions,
} from "./client.ts";
export {
  MlflowApiError,
  MlflowError,
  MlflowNetworkError,
  MlflowTimeoutError,
  TRANSIENT_NETWORK_CODES,
  TRANSIENT_STATUSES,
  apiErrorFrom,
  isAlreadyExists,
  isNotFound,
  isRetryable,
  parseRetryAfter,
} from "./errors.ts";
export { MLFLOW_BATCH_LIMITS, chunkBatch, type BatchLimits } from "./batch.ts";
export type * from "./types.ts";
