/**
 * The chart's values, as a zod model. This is the single source of truth:
 * charts/mlflow/values.schema.json, charts/mlflow/values.yaml and the values
 * table in charts/mlflow/README.md are all generated from it (see generate-chart-files.ts),
 * and a test fails when the committed files drift from it.
 *
 * Every field carries a description (it becomes the comment in values.yaml) and
 * every object is strict, so unknown keys are rejected by both zod and Helm.
 */
import { z } from "zod";
import { digest, gsUri, host, instanceConnectionName, k8sName, nodePort, port, quantity, secretKey } from "./validators.ts";

/** Objects with defaults for every field: `prefault({})` runs the inner defaults. */
const section = <T extends z.ZodRawShape>(description: string, shape: T) =>
  z.object(shape).strict().prefault({} as never).describe(description);

const stringMap = (description: string) => z.record(z.string(), z.string()).default({}).describe(description);
/** Free-form Kubernetes objects (affinity, tolerations...) that Kubernetes itself validates. */
const passthrough = (description: string, fallback: Record<string, unknown>) =>
  z.record(z.string(), z.unknown()).default(fallback).describe(description);

/** Lists of Kubernetes objects (containers, volumes...) passed through as written; Kubernetes validates them. */
const objectList = (description: string) => z.array(z.record(z.string(), z.unknown())).default([]).describe(description);

const resourceList = z
  .object({
    cpu: quantity().optional().describe("CPU, e.g. 500m"),
    memory: quantity().optional().describe("Memory, e.g. 1Gi"),
    "ephemeral-storage": quantity().optional().describe("Ephemeral storage, e.g. 1Gi"),
  })
  .strict();

const probe = (description: string, defaults: { periodSeconds: number; failureThreshold: number; timeoutSeconds: number }) =>
  section(description, {
    enabled: z.boolean().default(true).describe("Whether this probe is set"),
    periodSeconds: z.int().min(1).max(300).default(defaults.periodSeconds).describe("Seconds between checks"),
    timeoutSeconds: z.int().min(1).max(60).default(defaults.timeoutSeconds).describe("Seconds before one check times out"),
    failureThreshold: z.int().min(1).max(1000).default(defaults.failureThreshold).describe("Consecutive failures before the probe fails"),
  });

export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
export const SERVICE_TYPES = ["NodePort", "ClusterIP", "LoadBalancer"] as const;
export const GCS_AUTH_MODES = ["workloadIdentity", "keyFile", "none"] as const;
export const PULL_POLICIES = ["IfNotPresent", "Always", "Never"] as const;
export const DB_AUTH_MODES = ["password", "iam"] as const;

export const chartValuesSchema = z
  .object({
    // Helm passes every subchart a `global` key; without it the strict root rejects the chart
    // as a dependency of an umbrella chart ("additional properties 'global' not allowed").
    global: passthrough("Values a parent (umbrella) chart shares with all its subcharts; Helm passes this key to every subchart. This chart reads none of them", {}),
    nameOverride: z.string().max(63).default("").describe("Replaces the chart name in resource names"),
    fullnameOverride: z.string().max(63).default("").describe("Replaces the whole release-based resource name"),

    image: section("The MLflow server image (built from images/mlflow in this repository)", {
      repository: z.string().min(1).default("ghcr.io/mlflow-k8s/mlflow").describe("Image repository"),
      tag: z.string().default("").describe("Image tag; empty means the chart's appVersion (the pinned MLflow version)"),
      digest: digest().default("").describe("Image digest (sha256:...); when set the image is pulled by digest, the tag stays for readers"),
      pullPolicy: z.enum(PULL_POLICIES).default("IfNotPresent").describe("When the kubelet pulls the image"),
      pullSecrets: z.array(k8sName()).default([]).describe("Names of docker-registry Secrets used to pull the image"),
    }),

    replicaCount: z.int().min(1).max(50).default(1).describe("Number of MLflow server pods (ignored with autoscaling.enabled)"),

    autoscaling: section("A HorizontalPodAutoscaler (autoscaling/v2) for the server; the Deployment then leaves replicas to it", {
      enabled: z.boolean().default(false).describe("Render the HorizontalPodAutoscaler"),
      minReplicas: z.int().min(1).max(50).default(2).describe("Fewest server pods (a PodDisruptionBudget is rendered when this is above 1)"),
      maxReplicas: z.int().min(1).max(50).default(5).describe("Most server pods; at least minReplicas"),
      targetCPUUtilizationPercentage: z
        .int()
        .min(1)
        .max(1000)
        .nullable()
        .default(80)
        .describe("Average CPU use, in percent of resources.requests.cpu, to scale at; null for none"),
      targetMemoryUtilizationPercentage: z
        .int()
        .min(1)
        .max(1000)
        .nullable()
        .default(null)
        .describe("Average memory use, in percent of resources.requests.memory, to scale at; null for none"),
      behavior: passthrough("The HPA's scaleUp/scaleDown behavior, as Kubernetes takes it", {}),
    }),

    metrics: section("Prometheus metrics: MLflow's request series on GET /metrics of the server port (`--expose-prometheus`)", {
      enabled: z.boolean().default(false).describe("Expose /metrics; the multiprocess files go to an emptyDir, as the root filesystem is read-only"),
      serviceMonitor: section("A prometheus-operator ServiceMonitor (monitoring.coreos.com/v1) for /metrics", {
        enabled: z.boolean().default(false).describe("Render the ServiceMonitor (needs metrics.enabled and the prometheus-operator CRDs); with auth.enabled it scrapes as the admin from auth.existingSecret"),
        interval: z
          .string()
          .regex(/^[0-9]+(?:ms|s|m|h)$/, { error: "must be a duration such as 30s or 1m" })
          .default("30s")
          .describe("Scrape interval"),
        labels: stringMap("Extra labels on the ServiceMonitor (e.g. the release label your Prometheus selects)"),
      }),
    }),

    server: section("How `mlflow server` runs", {
      workers: z.int().min(1).max(64).default(2).describe("Server worker processes per pod (`--workers`)"),
      allowedHosts: z
        .array(z.string().min(1).regex(/^[^\s,]+$/, { error: "must be one host pattern without spaces or commas" }))
        .default([])
        .describe(
          "Extra Host headers MLflow accepts (MLflow >= 3.5 rejects others with 403). The Service's DNS names, the ingress host and MLflow's own defaults (localhost, private IP ranges) are always added. Add the DNS name or public IP users reach a NodePort or LoadBalancer by",
        ),
      corsAllowedOrigins: z
        .array(z.string().min(1).regex(/^[^\s,]+$/, { error: "must be one origin without spaces or commas" }))
        .default([])
        .describe("Origins allowed to make cross-origin requests (e.g. https://notebooks.example.com); the ingress host's https origin is added"),
      jobExecution: z
        .boolean()
        .default(false)
        .describe(
          "MLflow 3's background job runner (GenAI evaluation and scorer jobs). It starts about seven extra Python processes, some 1.5 GiB more memory per pod; a tracking server does not need it",
        ),
      tmpSizeLimit: z
        .union([z.literal(""), quantity()])
        .default("4Gi")
        .describe(
          "sizeLimit of the /tmp emptyDir, where proxied artifact uploads and downloads are staged whole while they pass through the server. It must hold the largest artifacts times the transfers in flight; past it the kubelet evicts the pod. Empty: no limit (the node's disk)",
        ),
      extraArgs: z.array(z.string()).default([]).describe("Extra flags appended to `mlflow server`"),
      extraEnv: z
        .array(z.object({ name: z.string().min(1), value: z.string() }).strict())
        .default([])
        .describe("Extra plain environment variables for the server container (never put secrets here)"),
    }),

    database: section("PostgreSQL backend store (e.g. Cloud SQL). The password only ever comes from a Secret", {
      host: z
        .union([z.literal(""), host()])
        .default("")
        .describe("Database host name or IP, e.g. 10.20.0.3 (required, except with cloudSqlProxy.enabled, where empty means 127.0.0.1: the proxy in the same pod)"),
      port: port().default(5432).describe("Database port"),
      name: z.string().min(1).max(63).default("mlflow").describe("Database name"),
      user: z.string().min(1).max(63).default("mlflow").describe("Database user"),
      sslmode: z.enum(SSL_MODES).default("prefer").describe("libpq sslmode (with the Cloud SQL Auth Proxy the proxy encrypts; disable is fine on its loopback hop)"),
      auth: z
        .enum(DB_AUTH_MODES)
        .default("password")
        .describe(
          "password: the password comes from a Secret; iam: Cloud SQL IAM database authentication, no password anywhere (needs cloudSqlProxy.enabled, which then runs with --auto-iam-authn; database.user is the IAM user, e.g. mlflow@my-project.iam)",
        ),
      password: z
        .string()
        .default("")
        .describe(
          "Password for a Secret the chart creates. Give it at install time only (--set-string or a values file you do not commit); leave empty when using existingSecret",
        ),
      existingSecret: z.union([z.literal(""), k8sName()]).default("").describe("Name of an existing Secret holding the password; takes precedence over password"),
      existingSecretKey: secretKey().default("password").describe("Key of the password inside the Secret"),
      waitTimeoutSeconds: z.int().min(0).max(3600).default(300).describe("How long the server waits for the database at start before it exits"),
    }),

    auth: section("Optional MLflow basic auth (`--app-name basic-auth`); users live in the backend database", {
      enabled: z.boolean().default(false).describe("Require HTTP basic auth for the REST API and UI (/health stays open for probes)"),
      existingSecret: z
        .union([z.literal(""), k8sName()])
        .default("")
        .describe("Secret holding the admin username, admin password and the CSRF key (required when enabled)"),
      usernameKey: secretKey().default("username").describe("Key of the admin username in that Secret"),
      passwordKey: secretKey().default("password").describe("Key of the admin password in that Secret"),
      secretKeyKey: secretKey().default("secret-key").describe("Key of the Flask CSRF secret (MLFLOW_FLASK_SERVER_SECRET_KEY), the same for every replica"),
      defaultPermission: z.enum(["READ", "EDIT", "MANAGE", "NO_PERMISSIONS"]).default("READ").describe("Permission users get on resources they do not own"),
    }),

    artifacts: section("Where artifacts are stored", {
      destination: z.union([z.literal(""), gsUri()]).default("").describe("GCS location for artifacts (required), e.g. gs://my-bucket/mlflow"),
      proxied: z
        .boolean()
        .default(true)
        .describe(
          "true: clients upload through the server (`--serve-artifacts --artifacts-destination`); false: clients write to GCS themselves (`--default-artifact-root`) and need their own GCS credentials",
        ),
    }),

    gcs: section("Google Cloud Storage access for the server", {
      auth: z
        .enum(GCS_AUTH_MODES)
        .default("workloadIdentity")
        .describe("workloadIdentity: the pod's ServiceAccount is bound to a Google service account; keyFile: a JSON key from a Secret; none: no credentials and no metadata-server lookups (emulators)"),
      gcpServiceAccount: z
        .string()
        .regex(/^$|^[a-z0-9-]+@[a-z0-9-]+\.iam\.gserviceaccount\.com$/, { error: "must be a Google service account e-mail such as mlflow@my-project.iam.gserviceaccount.com" })
        .default("")
        .describe("With workloadIdentity: the Google service account e-mail, set as the iam.gke.io/gcp-service-account annotation"),
      keyFileSecret: z.union([z.literal(""), k8sName()]).default("").describe("With keyFile: name of the Secret holding the JSON key"),
      keyFileSecretKey: secretKey().default("key.json").describe("With keyFile: key of the JSON key inside that Secret"),
      emulatorHost: z
        .string()
        .regex(/^$|^https?:\/\/[^\s/]+\/?$/, { error: "must be an http(s) URL with no path, e.g. http://10.0.0.5:4443" })
        .default("")
        .describe("STORAGE_EMULATOR_HOST for a GCS emulator (tests only), e.g. http://10.0.0.5:4443"),
    }),

    cloudSqlProxy: section("The Cloud SQL Auth Proxy as a native sidecar (an init container with restartPolicy Always) of the server pods and the migration Job", {
      enabled: z.boolean().default(false).describe("Run the proxy; the server then connects to it on 127.0.0.1:database.port"),
      instanceConnectionName: z
        .union([z.literal(""), instanceConnectionName()])
        .default("")
        .describe("The instance to connect to, <project>:<region>:<instance> (required when enabled)"),
      image: section("The proxy image", {
        repository: z.string().min(1).default("gcr.io/cloud-sql-connectors/cloud-sql-proxy").describe("Image repository"),
        tag: z.string().min(1).default("2.21.3").describe("Image tag"),
        digest: digest().default("").describe("Image digest (sha256:...); when set the image is pulled by digest"),
      }),
      httpPort: port().default(9801).describe("Port of the proxy's health endpoints (--http-port); its startup probe holds the server back until the proxy is ready"),
      extraArgs: z
        .array(z.string().min(1))
        .default([])
        .describe("Extra proxy flags, e.g. --private-ip or --psc (--auto-iam-authn is added by database.auth iam)"),
      resources: section("Container resources of the proxy", {
        requests: resourceList.default({ cpu: "50m", memory: "64Mi" }).describe("Requests"),
        limits: resourceList.default({ memory: "256Mi" }).describe("Limits"),
      }),
    }),

    serviceAccount: section("The pod's Kubernetes ServiceAccount", {
      create: z.boolean().default(true).describe("Create a ServiceAccount for the server"),
      name: z.union([z.literal(""), k8sName()]).default("").describe("Name to create or use; empty means the release's full name"),
      annotations: stringMap("Extra annotations on the ServiceAccount"),
    }),

    service: section("The Service in front of the server", {
      type: z.enum(SERVICE_TYPES).default("NodePort").describe("NodePort (default), ClusterIP or LoadBalancer"),
      port: port().default(5000).describe("Service port"),
      nodePort: nodePort().nullable().default(null).describe("Fixed node port (30000-32767) with type NodePort; null lets Kubernetes choose"),
      annotations: stringMap("Annotations on the Service"),
    }),

    ingress: section("An optional Ingress", {
      enabled: z.boolean().default(false).describe("Create an Ingress"),
      className: z.string().default("").describe("IngressClass name"),
      host: z.union([z.literal(""), host()]).default("").describe("Host name users open; added to the allowed hosts"),
      path: z.string().startsWith("/").default("/").describe("Path prefix"),
      annotations: stringMap("Annotations on the Ingress"),
      tls: section("TLS for the Ingress", {
        enabled: z.boolean().default(false).describe("Serve the host over TLS"),
        secretName: z.union([z.literal(""), k8sName()]).default("").describe("Secret with the certificate (kubernetes.io/tls)"),
      }),
    }),

    resources: section("Container resources of the server", {
      requests: resourceList.default({ cpu: "250m", memory: "512Mi" }).describe("Requests"),
      limits: resourceList.default({ memory: "1536Mi" }).describe("Limits"),
    }),

    probes: section("Probes on GET /health", {
      startup: probe("Startup probe: allows a slow first start (schema checks, DB wait)", { periodSeconds: 5, failureThreshold: 60, timeoutSeconds: 5 }),
      readiness: probe("Readiness probe", { periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 5 }),
      liveness: probe("Liveness probe", { periodSeconds: 20, failureThreshold: 6, timeoutSeconds: 5 }),
    }),

    podSecurityContext: passthrough("Pod securityContext (defaults meet the restricted Pod Security Standard)", {
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      seccompProfile: { type: "RuntimeDefault" },
    }),
    securityContext: passthrough("Container securityContext (read-only root filesystem; /tmp is a writable emptyDir)", {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    }),

    extraEnvFrom: objectList("envFrom entries (configMapRef / secretRef) for the server and migration containers"),
    extraVolumes: objectList("Extra volumes of the server pods and the migration Job"),
    extraVolumeMounts: objectList("Extra volumeMounts of the server and migration containers (the volumes come from extraVolumes)"),
    initContainers: objectList("Extra init containers of the server pods, run after the Cloud SQL Auth Proxy starts"),
    extraContainers: objectList("Extra containers (sidecars) of the server pods"),
    priorityClassName: z.union([z.literal(""), k8sName()]).default("").describe("PriorityClass of the server pods"),
    topologySpreadConstraints: objectList("Topology spread constraints of the server pods; a constraint without labelSelector gets the server pods' labels"),

    podAnnotations: stringMap("Extra annotations on the pods"),
    podLabels: stringMap("Extra labels on the pods"),
    nodeSelector: stringMap("Node selector for the pods"),
    tolerations: z.array(z.record(z.string(), z.unknown())).default([]).describe("Tolerations for the pods"),
    affinity: passthrough("Affinity for the pods", {}),

    podDisruptionBudget: section("A PodDisruptionBudget, rendered only when replicaCount > 1", {
      enabled: z.boolean().default(true).describe("Render the budget when there is more than one replica"),
      maxUnavailable: z.int().min(1).max(49).default(1).describe("Pods a voluntary disruption (node drain) may take down at once"),
    }),

    networkPolicy: section("An optional NetworkPolicy for the server pods. With gcs.auth workloadIdentity or cloudSqlProxy it also allows the GKE metadata server (169.254.169.254:80, and 169.254.169.252:988 on Dataplane V2)", {
      enabled: z.boolean().default(false).describe("Render the NetworkPolicy"),
      ingressNamespaces: z
        .array(k8sName())
        .default([])
        .describe("Namespaces (by name) whose pods may reach port 5000, besides the release's own namespace"),
      ingressCidrs: z
        .array(z.string().regex(/^[0-9a-fA-F.:]+\/[0-9]{1,3}$/, { error: "must be a CIDR such as 10.0.0.0/8" }))
        .default([])
        .describe("Address ranges that may reach port 5000 (e.g. node addresses for NodePort traffic, a load balancer's range)"),
      databaseCidr: z
        .string()
        .regex(/^$|^[0-9a-fA-F.:]+\/[0-9]{1,3}$/, { error: "must be a CIDR such as 10.20.0.0/24" })
        .default("")
        .describe(
          "Where the database is, for egress; empty: database.host as a /32 when it is an IPv4 address, else any address on database.port. With cloudSqlProxy: the instance's range for port 3307, empty meaning any address",
        ),
      allowGcsEgress: z
        .boolean()
        .default(true)
        .describe("Allow egress on 443 to any address (Google Cloud Storage has no fixed range); always allowed with cloudSqlProxy, whose Cloud SQL Admin API is on 443 too"),
    }),

    migrations: section("The `mlflow db upgrade` Job run before install and upgrade", {
      enabled: z.boolean().default(true).describe("Run the schema migration Job as a pre-install/pre-upgrade hook"),
      backoffLimit: z.int().min(0).max(10).default(3).describe("Retries of the Job"),
      activeDeadlineSeconds: z.int().min(30).max(7200).default(900).describe("Give up after this many seconds"),
    }),

    tests: section("The `helm test` hook pod", {
      enabled: z.boolean().default(true).describe("Render the test pod that calls /health and the REST API"),
    }),
  })
  .strict();

/** Values as the user writes them (every field optional). */
export type ChartValuesInput = z.input<typeof chartValuesSchema>;
/** Values after defaults are applied. */
export type ChartValues = z.output<typeof chartValuesSchema>;

/** Fields whose values are secrets: redacted in every error message. */
export const SECRET_PATHS = new Set(["database.password"]);
