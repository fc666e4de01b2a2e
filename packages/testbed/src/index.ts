export { startPostgres, PostgresServer, dbEnv, createUserAndDatabaseSql, type PostgresOptions, type DbConnection } from "./postgres.ts";
export { startGcsEmulator, GcsEmulator, type GcsEmulatorOptions, type GcsObject } from "./gcs.ts";
export { GcsJsonApi, type GcsTransport } from "./gcs-json.ts";
export {
  startMlflowServer,
  MlflowServer,
  runEntrypoint,
  chartEnv,
  chartArgs,
  type MlflowServerOptions,
  type MlflowEnvOptions,
  type EntrypointResult,
} from "./mlflow.ts";
export {
  startProcess,
  stopAllProcesses,
  liveProcesses,
  processGroupMembers,
  ManagedProcess,
  freePort,
  waitFor,
  sleep,
  type ExitInfo,
  type GroupMember,
  type StartProcessOptions,
  type StopOptions,
  type WaitOptions,
} from "./process.ts";
export { httpRequest, urlHost, type HttpRequestOptions, type HttpResponse } from "./http.ts";
export { repoRoot, imageDir, entrypointScript, cacheDir, pgBinDir, fakeGcsServerBinary, ensurePythonVenv, type PythonVenvKind } from "./paths.ts";
export { pythonQuote, base64Forms, secretForms, findSecretForms, type SecretForm } from "./secret-forms.ts";
export { exerciseRouteFamilies, describeRouteFamilies, ROUTE_FAMILIES, type RouteFamilyResult, type RouteFamilyTarget } from "./route-families.ts";
