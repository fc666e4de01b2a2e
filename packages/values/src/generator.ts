/**
 * The values generator: user input (flags, env vars, a config file) -> validated
 * chart values + an optional Kubernetes Secret for the DB password.
 *
 * One table (INPUT_FIELDS) defines every input: its config-file key, its flag, its
 * env var and where it lands in the chart values, so the three input channels can
 * never disagree about names.
 */
import { z } from "zod";
import YAML from "yaml";
import { chartValuesSchema, DB_AUTH_MODES, GCS_AUTH_MODES, PULL_POLICIES, SERVICE_TYPES, SSL_MODES, type ChartValues, type ChartValuesInput } from "./chart-values.ts";
import { problemsFromZod, REDACTED, show, ValuesError, type Problem } from "./errors.ts";
import { digest, gsUri, host, instanceConnectionName, k8sName, nodePort, port, quantity } from "./validators.ts";

export interface InputField {
  /** Key in a config file (camelCase). */
  key: string;
  /** Long CLI flag. */
  flag: string;
  /** Environment variable. */
  env: string;
  description: string;
  /** Values that come from flags as strings are parsed to this type first. */
  kind: "string" | "int" | "boolean" | "list";
}

const f = (key: string, kind: InputField["kind"], description: string): InputField => ({
  key,
  kind,
  description,
  flag: `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
  env: `MLFLOW_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`,
});

export const INPUT_FIELDS: readonly InputField[] = [
  f("gcsUri", "string", "GCS location for artifacts, gs://<bucket>[/<path>] (required)"),
  f("directArtifacts", "boolean", "Clients write artifacts to GCS themselves instead of through the server"),
  f("dbHost", "string", "PostgreSQL host name or IP (required unless --cloud-sql-instance is given)"),
  f("dbPort", "int", "PostgreSQL port (default 5432)"),
  f("dbName", "string", "Database name (default mlflow)"),
  f("dbUser", "string", "Database user (default mlflow)"),
  f("dbSslmode", "string", `libpq sslmode: ${SSL_MODES.join(", ")} (default prefer)`),
  f("dbAuth", "string", `Database login: ${DB_AUTH_MODES.join(", ")} (default password; iam needs --cloud-sql-instance and takes no password)`),
  f("cloudSqlInstance", "string", "Cloud SQL instance connection name <project>:<region>:<instance>: runs the Cloud SQL Auth Proxy beside the server"),
  f("cloudSqlPrivateIp", "boolean", "The proxy connects to the instance's private IP (--private-ip)"),
  f("passwordFrom", "string", "Where the DB password comes from: prompt, stdin, env:<VAR>, or secret:<name>[:<key>] for an existing Secret"),
  f("release", "string", "Helm release name, used to name the generated Secret (default mlflow)"),
  f("namespace", "string", "Namespace written into the generated Secret (default: none, kubectl -n decides)"),
  f("serviceType", "string", `Service type: ${SERVICE_TYPES.join(", ")} (default NodePort)`),
  f("nodePort", "int", "Fixed NodePort, 30000-32767"),
  f("allowedHosts", "list", "Extra Host names MLflow accepts (comma-separated), e.g. the DNS name of the node"),
  f("replicas", "int", "Number of server pods (default 1)"),
  f("workers", "int", "Server worker processes per pod (default 2)"),
  f("imageRepository", "string", "Server image repository"),
  f("imageTag", "string", "Server image tag (default: the chart's appVersion)"),
  f("imageDigest", "string", "Server image digest, sha256:<64 hex>: pull by digest"),
  f("imagePullPolicy", "string", `Image pull policy: ${PULL_POLICIES.join(", ")}`),
  f("cpuRequest", "string", "CPU request, e.g. 250m"),
  f("memoryRequest", "string", "Memory request, e.g. 512Mi"),
  f("cpuLimit", "string", "CPU limit, e.g. 2"),
  f("memoryLimit", "string", "Memory limit, e.g. 1536Mi"),
  f("gcsAuth", "string", `GCS credentials: ${GCS_AUTH_MODES.join(", ")} (default workloadIdentity)`),
  f("gcpServiceAccount", "string", "Google service account e-mail for Workload Identity"),
  f("gcsKeySecret", "string", "Secret holding a GCS JSON key (with --gcs-auth keyFile)"),
  f("gcsEmulatorHost", "string", "STORAGE_EMULATOR_HOST for a GCS emulator (tests only)"),
];

const fieldByKey = new Map(INPUT_FIELDS.map((x) => [x.key, x]));
export const inputHint = (key: string): string | undefined => {
  const field = fieldByKey.get(key.split(".")[0] ?? "");
  return field ? `${field.flag} / ${field.env}` : undefined;
};

/** Inputs whose values are never echoed: a mistyped --password-from is often the password itself. */
export const SECRET_INPUTS: ReadonlySet<string> = new Set(["passwordFrom"]);

const PASSWORD_FROM = /^(?:prompt|stdin|env:[A-Za-z_][A-Za-z0-9_]*|secret:[a-z0-9][-a-z0-9.]*(?::[-._a-zA-Z0-9]+)?)$/;

/** The generator's input after merging config file < env < flags. All names flat. */
export const generatorInputSchema = z
  .object({
    gcsUri: gsUri(),
    directArtifacts: z.boolean().default(false),
    dbHost: host().optional(),
    dbPort: port().default(5432),
    dbName: z.string().trim().min(1, { error: "must not be empty" }).max(63).default("mlflow"),
    dbUser: z.string().trim().min(1, { error: "must not be empty" }).max(63).default("mlflow"),
    dbSslmode: z.enum(SSL_MODES).default("prefer"),
    dbAuth: z.enum(DB_AUTH_MODES).default("password"),
    cloudSqlInstance: instanceConnectionName().optional(),
    cloudSqlPrivateIp: z.boolean().default(false),
    passwordFrom: z
      .string()
      .regex(PASSWORD_FROM, { error: "must be prompt, stdin, env:<VAR> or secret:<name>[:<key>]" })
      .optional(),
    release: k8sName().default("mlflow"),
    namespace: k8sName().optional(),
    serviceType: z.enum(SERVICE_TYPES).default("NodePort"),
    nodePort: nodePort().optional(),
    allowedHosts: z.array(z.string().min(1).regex(/^[^\s,]+$/, { error: "must be host names without spaces" })).default([]),
    replicas: z.int().min(1).max(50).optional(),
    workers: z.int().min(1).max(64).optional(),
    imageRepository: z.string().min(1).optional(),
    imageTag: z.string().min(1).optional(),
    imageDigest: digest().optional(),
    imagePullPolicy: z.enum(PULL_POLICIES).optional(),
    cpuRequest: quantity().optional(),
    memoryRequest: quantity().optional(),
    cpuLimit: quantity().optional(),
    memoryLimit: quantity().optional(),
    gcsAuth: z.enum(GCS_AUTH_MODES).optional(),
    gcpServiceAccount: z.string().optional(),
    gcsKeySecret: k8sName().optional(),
    gcsEmulatorHost: z.string().optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.nodePort !== undefined && v.serviceType === "ClusterIP") {
      ctx.addIssue({ code: "custom", path: ["nodePort"], message: "cannot be set with serviceType ClusterIP; use NodePort or LoadBalancer" });
    }
    if (!v.dbHost && !v.cloudSqlInstance) {
      ctx.addIssue({ code: "custom", path: ["dbHost"], message: "is required: the PostgreSQL host name or IP (or give cloudSqlInstance to connect through the Cloud SQL Auth Proxy)" });
    }
    if (v.dbAuth === "iam" && !v.cloudSqlInstance) {
      ctx.addIssue({ code: "custom", path: ["dbAuth"], message: "iam needs cloudSqlInstance: IAM database login goes through the Cloud SQL Auth Proxy" });
    }
    if (v.dbAuth === "iam" && v.passwordFrom) {
      ctx.addIssue({ code: "custom", path: ["passwordFrom"], message: "cannot be used with dbAuth iam: IAM database authentication uses no password" });
    }
    if (v.cloudSqlPrivateIp && !v.cloudSqlInstance) {
      ctx.addIssue({ code: "custom", path: ["cloudSqlPrivateIp"], message: "needs cloudSqlInstance: it is a flag of the Cloud SQL Auth Proxy" });
    }
    if (v.gcsAuth === "keyFile" && !v.gcsKeySecret) {
      ctx.addIssue({ code: "custom", path: ["gcsKeySecret"], message: "is required with gcsAuth keyFile: name the Secret holding the JSON key" });
    }
  });

export type GeneratorInput = z.output<typeof generatorInputSchema>;

/** Where the DB password comes from, parsed. */
export type PasswordSource =
  | { kind: "prompt" }
  | { kind: "stdin" }
  | { kind: "env"; variable: string }
  | { kind: "secret"; name: string; key: string };

export function parsePasswordSource(spec: string): PasswordSource {
  if (spec === "prompt" || spec === "stdin") return { kind: spec };
  if (spec.startsWith("env:")) return { kind: "env", variable: spec.slice(4) };
  const [, name = "", key = "password"] = spec.split(":");
  return { kind: "secret", name, key };
}

export function parseGeneratorInput(raw: unknown): GeneratorInput {
  const result = generatorInputSchema.safeParse(raw);
  if (!result.success) {
    const known = INPUT_FIELDS.map((x) => x.key).join(", ");
    const problems = problemsFromZod(result.error, raw, { hint: inputHint, secret: (field) => SECRET_INPUTS.has(field) }).map((p) =>
      p.message.startsWith("is not a known setting") ? { ...p, hint: "config file", message: `is not a known setting; known settings: ${known}` } : p,
    );
    throw new ValuesError(problems);
  }
  return result.data;
}

/** Checks a password obtained from any source; never echoes it. */
export function checkPassword(password: string, source: string): void {
  if (password.length === 0) throw new ValuesError([{ field: "password", hint: source, message: "is empty: the database password must not be empty" }]);
  if (password.trim().length === 0) {
    throw new ValuesError([{ field: "password", hint: source, got: "<redacted: only whitespace>", message: "is only whitespace: give the real password" }]);
  }
  if (password !== password.replace(/[\r\n]+$/, "")) {
    // stdin usually ends with a newline; callers strip one, but more is a mistake.
    throw new ValuesError([{ field: "password", hint: source, got: "<redacted>", message: "ends with a line break: pass the password without trailing newlines" }]);
  }
}

export interface GeneratedValues {
  /** Chart values: never contain the password. */
  values: ChartValuesInput;
  /** The Secret the values refer to. `create` is false when it already exists in the cluster; null with IAM auth (no password). */
  secret: { name: string; key: string; create: boolean } | null;
}

export const DB_SECRET_KEY = "password";

/** Map validated input to chart values. The password is referenced, never embedded. */
export function buildChartValues(input: GeneratorInput): GeneratedValues {
  const source = input.passwordFrom ? parsePasswordSource(input.passwordFrom) : undefined;
  const secret =
    input.dbAuth === "iam"
      ? null
      : source?.kind === "secret"
        ? { name: source.name, key: source.key, create: false }
        : { name: `${input.release}-mlflow-db`, key: DB_SECRET_KEY, create: true };

  const defined = <T extends object>(o: T): Partial<T> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

  const values: ChartValuesInput = {
    ...(input.replicas !== undefined ? { replicaCount: input.replicas } : {}),
    image: defined({ repository: input.imageRepository, tag: input.imageTag, digest: input.imageDigest, pullPolicy: input.imagePullPolicy }),
    server: defined({ workers: input.workers, allowedHosts: input.allowedHosts.length ? input.allowedHosts : undefined }),
    database: defined({
      host: input.dbHost,
      port: input.dbPort,
      name: input.dbName,
      user: input.dbUser,
      sslmode: input.dbSslmode,
      auth: input.dbAuth === "iam" ? input.dbAuth : undefined,
      existingSecret: secret?.name,
      existingSecretKey: secret?.key,
    }),
    ...(input.cloudSqlInstance
      ? { cloudSqlProxy: { enabled: true, instanceConnectionName: input.cloudSqlInstance, ...(input.cloudSqlPrivateIp ? { extraArgs: ["--private-ip"] } : {}) } }
      : {}),
    artifacts: { destination: input.gcsUri, proxied: !input.directArtifacts },
    gcs: defined({
      auth: input.gcsAuth ?? (input.gcsEmulatorHost ? "none" : undefined),
      gcpServiceAccount: input.gcpServiceAccount,
      keyFileSecret: input.gcsKeySecret,
      emulatorHost: input.gcsEmulatorHost,
    }),
    service: defined({ type: input.serviceType, nodePort: input.nodePort }),
    resources: {
      requests: defined({ cpu: input.cpuRequest, memory: input.memoryRequest }),
      limits: defined({ cpu: input.cpuLimit, memory: input.memoryLimit }),
    },
  };
  if (!Object.keys(values.resources?.requests ?? {}).length && !Object.keys(values.resources?.limits ?? {}).length) delete values.resources;
  else {
    // An explicit requests/limits object replaces the chart default: keep the defaults for what the user left out.
    const defaults = chartValuesSchema.parse({}).resources;
    values.resources = {
      requests: { ...defaults.requests, ...values.resources?.requests },
      limits: { ...defaults.limits, ...values.resources?.limits },
    };
  }
  const pruned = pruneEmpty(values) as ChartValuesInput;
  validateChartValues(pruned);
  return { values: pruned, secret };
}

/** Drop empty objects so the values file holds only what the user decided. */
function pruneEmpty(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const entries = Object.entries(value)
    .map(([k, v]) => [k, pruneEmpty(v)] as const)
    .filter(([, v]) => !(v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0));
  return Object.fromEntries(entries);
}

/**
 * Validate chart values the way the chart will: the strict schema plus the
 * install-time requirements the chart enforces with `fail` (mlflow.validate in
 * charts/mlflow/templates/_helpers.tpl; keep the two lists in step: the chart
 * tests render each case through both).
 */
export function validateChartValues(values: unknown): ChartValues {
  const result = chartValuesSchema.safeParse(values);
  if (!result.success) {
    throw new ValuesError(problemsFromZod(result.error, values, { secret: (field) => field === "database.password" }));
  }
  const v = result.data;
  const problems: Problem[] = [];
  if (!v.database.host && !v.cloudSqlProxy.enabled) {
    problems.push({ field: "database.host", message: "is required: the PostgreSQL host name or IP (or enable cloudSqlProxy, which serves it on 127.0.0.1)" });
  }
  if (!v.artifacts.destination) problems.push({ field: "artifacts.destination", message: "is required: a GCS URI such as gs://my-bucket/mlflow" });
  if (v.cloudSqlProxy.enabled && !v.cloudSqlProxy.instanceConnectionName) {
    problems.push({ field: "cloudSqlProxy.instanceConnectionName", message: "is required when cloudSqlProxy.enabled is true: <project>:<region>:<instance>" });
  }
  if (v.database.auth === "iam") {
    if (v.database.password) problems.push({ field: "database.password", got: REDACTED, message: "must be empty with database.auth iam: IAM database authentication uses no password" });
    if (v.database.existingSecret) {
      problems.push({ field: "database.existingSecret", got: show(v.database.existingSecret), message: "must be empty with database.auth iam: IAM database authentication uses no password" });
    }
    if (!v.cloudSqlProxy.enabled) {
      problems.push({ field: "database.auth", got: show("iam"), message: "needs cloudSqlProxy.enabled: IAM database login goes through the Cloud SQL Auth Proxy (--auto-iam-authn)" });
    }
  } else {
    if (!v.database.existingSecret && !v.database.password) {
      problems.push({ field: "database.existingSecret", message: "is required when database.password is empty: name the Secret holding the password (or use database.auth iam)" });
    }
    if (!v.database.existingSecret && v.database.password && !v.database.password.trim()) {
      problems.push({ field: "database.password", got: "<redacted: only whitespace>", message: "is only whitespace: give the real password" });
    }
  }
  if (v.gcs.auth === "keyFile" && !v.gcs.keyFileSecret) problems.push({ field: "gcs.keyFileSecret", message: "is required with gcs.auth keyFile" });
  if (v.auth.enabled && !v.auth.existingSecret) problems.push({ field: "auth.existingSecret", message: "is required when auth.enabled is true: name the Secret with the admin username, password and CSRF key" });
  if (v.service.nodePort !== null && v.service.type === "ClusterIP") {
    problems.push({ field: "service.nodePort", got: String(v.service.nodePort), message: "cannot be set with service.type ClusterIP; use NodePort or LoadBalancer" });
  }
  const a = v.autoscaling;
  if (a.enabled && a.minReplicas > a.maxReplicas) {
    problems.push({ field: "autoscaling.minReplicas", got: String(a.minReplicas), message: `must not exceed autoscaling.maxReplicas (${a.maxReplicas})` });
  }
  if (a.enabled && a.targetCPUUtilizationPercentage === null && a.targetMemoryUtilizationPercentage === null) {
    problems.push({ field: "autoscaling.targetCPUUtilizationPercentage", got: "null", message: "or targetMemoryUtilizationPercentage must be set: the HPA needs a target" });
  }
  if (v.metrics.serviceMonitor.enabled && !v.metrics.enabled) {
    problems.push({ field: "metrics.serviceMonitor.enabled", got: "true", message: "needs metrics.enabled: there is no /metrics to scrape otherwise" });
  }
  if (v.ingress.enabled && !v.ingress.host) problems.push({ field: "ingress.host", message: "is required when ingress.enabled is true" });
  if (v.ingress.tls.enabled && !v.ingress.tls.secretName) problems.push({ field: "ingress.tls.secretName", message: "is required when ingress.tls.enabled is true" });
  if (problems.length) throw new ValuesError(problems);
  return v;
}

export function renderValuesFile(values: ChartValuesInput): string {
  const header =
    values.database?.auth === "iam"
      ? "# MLflow chart values generated by mlflow-values. IAM database authentication: there is no DB password.\n"
      : "# MLflow chart values generated by mlflow-values. The DB password is not here: it is in the Secret named by database.existingSecret.\n";
  return header + YAML.stringify(values, { lineWidth: 0 });
}

/** A Kubernetes Secret manifest for the DB password (stringData is avoided so the file is uniform base64). */
export function renderSecretManifest(opts: { name: string; key: string; password: string; namespace?: string | undefined }): string {
  const manifest = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: opts.name,
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      labels: { "app.kubernetes.io/name": "mlflow", "app.kubernetes.io/component": "database-credentials" },
    },
    type: "Opaque",
    data: { [opts.key]: Buffer.from(opts.password, "utf8").toString("base64") },
  };
  return YAML.stringify(manifest);
}
