/** The chart rendered by the real helm binary across the values matrix, asserted on parsed manifests. */
import { describe, expect, it } from "vitest";
import { buildChartValues, parseGeneratorInput } from "@mlflow-k8s/values";
import { findSecretForms } from "@mlflow-k8s/testbed";
import { BASE_VALUES, find, render, type Manifest } from "../src/helm.ts";

type Container = {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name: string; containerPort: number }[];
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
  startupProbe?: { httpGet: { path: string } };
  readinessProbe?: { httpGet: { path: string } };
  livenessProbe?: { httpGet: { path: string } };
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: unknown } };
};
type PodSpec = {
  containers: Container[];
  initContainers?: (Container & { restartPolicy?: string })[];
  securityContext: Record<string, unknown>;
  volumes?: { name: string; secret?: { secretName: string }; emptyDir?: Record<string, unknown> }[];
  serviceAccountName?: string;
  imagePullSecrets?: { name: string }[];
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
};

const podSpec = (m: Manifest): PodSpec => (m.spec as { template: { spec: PodSpec } }).template.spec;
/** Every pod the chart runs, as [Kind/name, spec]: workload templates and bare Pods alike. */
const allPods = (manifests: Manifest[]): [string, PodSpec][] =>
  manifests.flatMap((m): [string, PodSpec][] => {
    if (m.kind === "Pod") return [[`Pod/${m.metadata.name}`, m.spec as PodSpec]];
    if (m.kind === "Deployment" || m.kind === "Job") return [[`${m.kind}/${m.metadata.name}`, podSpec(m)]];
    return [];
  });
const server = (manifests: Manifest[]) => podSpec(find(manifests, "Deployment")).containers[0] as Container;
const envOf = (c: Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
const with_ = (extra: Record<string, unknown>) => merge(structuredClone(BASE_VALUES) as Record<string, unknown>, extra);

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(b)) {
    a[k] = v && typeof v === "object" && !Array.isArray(v) && a[k] && typeof a[k] === "object" ? merge(a[k] as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return a;
}

function rendered(values: Record<string, unknown>) {
  const r = render(values);
  expect(r.ok, r.stderr).toBe(true);
  return r.manifests;
}

describe("shutdown", () => {
  it("drains in preStop for longer than uvicorn's 5 s keep-alive timeout, inside the grace period", () => {
    const manifests = rendered(BASE_VALUES as never);
    const command = server(manifests).lifecycle?.preStop?.exec?.command ?? [];
    expect(command.slice(0, 2)).toEqual(["mlflow-entrypoint", "drain"]);
    const seconds = Number(command[2]);
    expect(seconds).toBeGreaterThan(5);
    expect(seconds).toBeLessThan(podSpec(find(manifests, "Deployment")).terminationGracePeriodSeconds ?? 30);
  });
});

describe("artifact modes", () => {
  it("proxied (default): --serve-artifacts --artifacts-destination gs://...", () => {
    const args = server(rendered(BASE_VALUES as never)).args ?? [];
    expect(args).toEqual(expect.arrayContaining(["server", "--host", "0.0.0.0", "--port", "5000", "--serve-artifacts"]));
    expect(args[args.indexOf("--artifacts-destination") + 1]).toBe("gs://ml-artifacts/mlflow");
    expect(args).not.toContain("--default-artifact-root");
  });

  it("direct: --no-serve-artifacts --default-artifact-root gs://...", () => {
    const args = server(rendered(with_({ artifacts: { proxied: false } }))).args ?? [];
    expect(args).toContain("--no-serve-artifacts");
    expect(args[args.indexOf("--default-artifact-root") + 1]).toBe("gs://ml-artifacts/mlflow");
    expect(args).not.toContain("--artifacts-destination");
  });
});

describe("database password", () => {
  it("an existing Secret is referenced by name and key, and no Secret is rendered", () => {
    const manifests = rendered(with_({ database: { existingSecret: "cloudsql", existingSecretKey: "pg-pass" } }));
    expect(envOf(server(manifests)).DB_PASSWORD).toEqual({ secretKeyRef: { name: "cloudsql", key: "pg-pass" } });
    expect(manifests.filter((m) => m.kind === "Secret")).toEqual([]);
  });

  it("a created Secret holds the password, and the pod template carries nothing derived from it", () => {
    const values = with_({ database: { existingSecret: "", password: "p@ss:/?#%" } });
    const manifests = rendered(values);
    const secret = find(manifests, "Secret", "-db") as Manifest & { data: { password: string } };
    expect(Buffer.from(secret.data.password, "base64").toString()).toBe("p@ss:/?#%");
    expect(envOf(server(manifests)).DB_PASSWORD).toEqual({ secretKeyRef: { name: "demo-mlflow-db", key: "password" } });
    // The old checksum/db-secret annotation was an unsalted sha256 of the password: a guess could be tested against it.
    const template = (m: Manifest[]) => (find(m, "Deployment").spec as { template: unknown }).template;
    expect(JSON.stringify(template(rendered(with_({ database: { existingSecret: "", password: "another" } }))))).toBe(JSON.stringify(template(manifests)));
  });

  it("the password, in any form (raw, URL-encoded, base64, JSON-escaped, sha256), appears in no rendered object but its Secret", () => {
    const password = "Very-Distinct-Pw-4242 it's";
    const manifests = rendered(with_({ database: { existingSecret: "", password } }));
    const others = manifests.filter((m) => !(m.kind === "Secret" && m.metadata.name === "demo-mlflow-db"));
    expect(others.length).toBeGreaterThan(3);
    for (const m of others) expect(findSecretForms(JSON.stringify(m), password), `${m.kind}/${m.metadata.name}`).toEqual([]);
  });

  it("the DB settings reach the server and the migration Job through one env block", () => {
    const manifests = rendered(with_({ database: { host: "pg.internal", port: 6543, name: "tracking", user: "ml", sslmode: "require" } }));
    const expected = { DB_HOST: "pg.internal", DB_PORT: "6543", DB_NAME: "tracking", DB_USER: "ml", DB_SSLMODE: "require" };
    expect(envOf(server(manifests))).toMatchObject(expected);
    const job = find(manifests, "Job", "-migrate");
    const migrate = podSpec(job).containers[0] as Container;
    expect(migrate.args).toEqual(["migrate"]);
    expect(envOf(migrate)).toMatchObject({ ...expected, DB_PASSWORD: { secretKeyRef: { name: "mlflow-db", key: "password" } } });
    expect(job.metadata.annotations?.["helm.sh/hook"]).toBe("pre-install,pre-upgrade");
  });
});

describe("Service and Ingress", () => {
  it("NodePort by default, with a fixed nodePort when given", () => {
    const svc = find(rendered(with_({ service: { nodePort: 30555 } })), "Service").spec as { type: string; ports: { port: number; nodePort?: number; targetPort: string }[] };
    expect(svc.type).toBe("NodePort");
    expect(svc.ports[0]).toMatchObject({ port: 5000, nodePort: 30555, targetPort: "http" });
  });

  it("ClusterIP + Ingress with TLS; the ingress host is allowed and is a CORS origin", () => {
    const manifests = rendered(with_({ service: { type: "ClusterIP" }, ingress: { enabled: true, host: "mlflow.example.com", className: "nginx", tls: { enabled: true, secretName: "mlflow-tls" } } }));
    expect((find(manifests, "Service").spec as { type: string }).type).toBe("ClusterIP");
    const ingress = find(manifests, "Ingress").spec as { ingressClassName: string; tls: unknown[]; rules: { host: string }[] };
    expect(ingress).toMatchObject({ ingressClassName: "nginx", tls: [{ hosts: ["mlflow.example.com"], secretName: "mlflow-tls" }], rules: [{ host: "mlflow.example.com" }] });
    const env = envOf(server(manifests));
    expect(String(env.MLFLOW_SERVER_ALLOWED_HOSTS).split(",")).toEqual(expect.arrayContaining(["mlflow.example.com", "mlflow.example.com:*"]));
    expect(env.MLFLOW_SERVER_CORS_ALLOWED_ORIGINS).toBe("https://mlflow.example.com");
  });

  it("no Ingress unless enabled", () => {
    expect(rendered(BASE_VALUES as never).some((m) => m.kind === "Ingress")).toBe(false);
  });
});

describe("allowed hosts (MLflow >= 3.5 Host check)", () => {
  it("keeps MLflow's defaults, adds the Service names and the user's hosts with and without a port", () => {
    const hosts = String(envOf(server(rendered(with_({ server: { allowedHosts: ["mlflow.corp.net", "34.1.2.3"] } })))).MLFLOW_SERVER_ALLOWED_HOSTS).split(",");
    expect(hosts).toEqual(
      expect.arrayContaining([
        "localhost", "localhost:*", "127.0.0.1:*", "10.*", "192.168.*", "172.16.*", "172.31.*",
        "demo-mlflow", "demo-mlflow.ml.svc", "demo-mlflow.ml.svc:*", "demo-mlflow.ml.svc.cluster.local:*",
        "mlflow.corp.net", "mlflow.corp.net:*", "34.1.2.3", "34.1.2.3:*",
      ]),
    );
    expect(hosts).toContain("[[]::1]:*");
    expect(new Set(hosts).size).toBe(hosts.length);
  });
});

describe("GCS credentials", () => {
  it("Workload Identity: the ServiceAccount carries the GCP service account annotation, no key is mounted", () => {
    const manifests = rendered(with_({ gcs: { auth: "workloadIdentity", gcpServiceAccount: "mlflow@my-proj.iam.gserviceaccount.com" } }));
    expect(find(manifests, "ServiceAccount").metadata.annotations).toEqual({ "iam.gke.io/gcp-service-account": "mlflow@my-proj.iam.gserviceaccount.com" });
    expect(envOf(server(manifests))).not.toHaveProperty("GOOGLE_APPLICATION_CREDENTIALS");
    expect(podSpec(find(manifests, "Deployment")).serviceAccountName).toBe("demo-mlflow");
  });

  it("key file: the Secret is mounted read-only and GOOGLE_APPLICATION_CREDENTIALS points at it", () => {
    const manifests = rendered(with_({ gcs: { auth: "keyFile", keyFileSecret: "gcs-key", keyFileSecretKey: "sa.json" } }));
    const c = server(manifests);
    expect(envOf(c).GOOGLE_APPLICATION_CREDENTIALS).toBe("/var/secrets/gcs/sa.json");
    expect(c.volumeMounts).toEqual(expect.arrayContaining([{ name: "gcs-key", mountPath: "/var/secrets/gcs", readOnly: true }]));
    expect(podSpec(find(manifests, "Deployment")).volumes).toEqual(expect.arrayContaining([{ name: "gcs-key", secret: { secretName: "gcs-key" } }]));
  });

  it("no credentials: Google's auth libraries are pointed at a closed loopback port, not the metadata server", () => {
    const env = envOf(server(rendered(with_({ gcs: { auth: "none" } }))));
    expect(env).toMatchObject({ GCE_METADATA_HOST: "127.0.0.1:9", GCE_METADATA_IP: "127.0.0.1:9" });
    expect(envOf(server(rendered(BASE_VALUES as never)))).not.toHaveProperty("GCE_METADATA_HOST");
  });

  it("emulator on: STORAGE_EMULATOR_HOST is set; off: absent", () => {
    expect(envOf(server(rendered(with_({ gcs: { auth: "none", emulatorHost: "http://10.0.0.5:4443" } })))).STORAGE_EMULATOR_HOST).toBe("http://10.0.0.5:4443");
    expect(envOf(server(rendered(BASE_VALUES as never)))).not.toHaveProperty("STORAGE_EMULATOR_HOST");
  });
});

describe("pod hardening and probes", () => {
  const manifests = rendered(BASE_VALUES as never);
  const c = server(manifests);

  it("runs non-root with a read-only root filesystem, no capabilities and RuntimeDefault seccomp", () => {
    expect(podSpec(find(manifests, "Deployment")).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } });
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(c.volumeMounts).toEqual(expect.arrayContaining([{ name: "tmp", mountPath: "/tmp" }]));
  });

  it("bounds /tmp, where proxied artifacts are staged, by server.tmpSizeLimit (4Gi; empty: no limit)", () => {
    const tmpVolume = (m: Manifest[]) => (podSpec(find(m, "Deployment")).volumes ?? []).find((v) => v.name === "tmp") as { emptyDir?: { sizeLimit?: string } };
    expect(tmpVolume(manifests)).toEqual({ name: "tmp", emptyDir: { sizeLimit: "4Gi" } });
    expect(tmpVolume(rendered(with_({ server: { tmpSizeLimit: "20Gi" } })))).toEqual({ name: "tmp", emptyDir: { sizeLimit: "20Gi" } });
    expect(tmpVolume(rendered(with_({ server: { tmpSizeLimit: "" } })))).toEqual({ name: "tmp", emptyDir: {} });
  });

  it("probes /health on the http port (5000)", () => {
    expect(c.ports).toEqual([{ name: "http", containerPort: 5000, protocol: "TCP" }]);
    for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) expect(probe?.httpGet).toEqual({ path: "/health", port: "http" });
  });

  it("MLflow's job runner is off unless asked for (it costs ~1.5 GiB per pod)", () => {
    expect(envOf(c).MLFLOW_SERVER_ENABLE_JOB_EXECUTION).toBe("false");
    expect(envOf(server(rendered(with_({ server: { jobExecution: true } })))).MLFLOW_SERVER_ENABLE_JOB_EXECUTION).toBe("true");
  });

  it("the image tag defaults to the chart's appVersion", () => {
    expect(c.image).toMatch(/^ghcr\.io\/mlflow-k8s\/mlflow:3\.\d+\.\d+$/);
    expect(server(rendered(with_({ image: { repository: "reg.local/mlflow", tag: "dev" } }))).image).toBe("reg.local/mlflow:dev");
  });

  it("rolls out without dropping below the desired replicas", () => {
    expect((find(manifests, "Deployment").spec as { strategy: unknown }).strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  });

  it("ships a helm test pod that checks /health and a REST call through the Service name", () => {
    const test = find(manifests, "Pod", "-test");
    expect(test.metadata.annotations?.["helm.sh/hook"]).toBe("test");
    const script = ((test.spec as { containers: Container[] }).containers[0]?.args ?? []).join("\n");
    expect(script).toContain("http://demo-mlflow.ml.svc:5000");
    expect(script).toContain("/api/2.0/mlflow/experiments/search");
  });
});

describe("one pod shape: the server, the migration Job and the helm test pod", () => {
  const values = with_({
    image: { pullSecrets: ["regcred"] },
    podSecurityContext: { runAsNonRoot: true, runAsUser: 4242, seccompProfile: { type: "RuntimeDefault" } },
    cloudSqlProxy: { enabled: true, instanceConnectionName: "my-proj:europe-west1:mlflow" },
  });
  const pods = allPods(rendered(values));

  it("renders all three", () => {
    expect(pods.map(([name]) => name).sort()).toEqual(["Deployment/demo-mlflow", "Job/demo-mlflow-migrate", "Pod/demo-mlflow-test"]);
  });

  it.each(pods)("%s: the pod securityContext, pull Secrets and no API token", (_name, spec) => {
    expect(spec.securityContext).toMatchObject(values.podSecurityContext as object);
    expect(spec.imagePullSecrets).toEqual([{ name: "regcred" }]);
    expect(spec.automountServiceAccountToken).toBe(false);
  });

  it.each(pods)("%s: every container is restricted and has a writable /tmp", (_name, spec) => {
    expect(spec.volumes).toEqual(expect.arrayContaining([{ name: "tmp", emptyDir: { sizeLimit: "4Gi" } }]));
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      expect(c.securityContext, c.name).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    }
    for (const c of spec.containers) expect(c.volumeMounts, c.name).toEqual(expect.arrayContaining([{ name: "tmp", mountPath: "/tmp" }]));
  });
});

describe("Cloud SQL Auth Proxy", () => {
  const INSTANCE = "my-proj:europe-west1:mlflow-pg";
  const proxyOf = (spec: PodSpec) => (spec.initContainers ?? []).find((c) => c.name === "cloud-sql-proxy");
  const iam = with_({
    database: { existingSecret: "", auth: "iam", user: "mlflow@my-proj.iam", host: "" },
    cloudSqlProxy: { enabled: true, instanceConnectionName: INSTANCE, extraArgs: ["--private-ip"] },
  });

  it("off by default: no init containers, the database host as given", () => {
    const manifests = rendered(BASE_VALUES as never);
    for (const [name, spec] of allPods(manifests)) expect(spec.initContainers, name).toBeUndefined();
    expect(envOf(server(manifests)).DB_HOST).toBe("10.20.0.3");
  });

  it("on: a native sidecar (restartPolicy Always) in the server pods and the migration Job, not in the test pod", () => {
    const manifests = rendered(with_({ database: { host: "" }, cloudSqlProxy: { enabled: true, instanceConnectionName: INSTANCE } }));
    for (const kind of ["Deployment", "Job"]) {
      const spec = podSpec(find(manifests, kind));
      const proxy = proxyOf(spec);
      expect(proxy, kind).toMatchObject({ restartPolicy: "Always", image: "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.21.3" });
      expect(proxy?.args?.at(-1)).toBe(INSTANCE);
      expect(proxy?.args).toEqual(expect.arrayContaining(["--port=5432", "--health-check", "--http-address=0.0.0.0", "--http-port=9801"]));
      expect(proxy?.args).not.toContain("--auto-iam-authn");
      expect(envOf(spec.containers[0] as Container), kind).toMatchObject({ DB_HOST: "127.0.0.1", DB_PORT: "5432" });
    }
    expect(proxyOf(find(manifests, "Pod", "-test").spec as PodSpec)).toBeUndefined();
  });

  it("an explicit database.host and port are kept; the proxy listens on that port", () => {
    const manifests = rendered(with_({ database: { host: "localhost", port: 6432 }, cloudSqlProxy: { enabled: true, instanceConnectionName: INSTANCE } }));
    expect(envOf(server(manifests))).toMatchObject({ DB_HOST: "localhost", DB_PORT: "6432" });
    expect(proxyOf(podSpec(find(manifests, "Deployment")))?.args).toContain("--port=6432");
  });

  it("IAM database auth: --auto-iam-authn, no password env, no Secret, no checksum", () => {
    const manifests = rendered(iam);
    for (const kind of ["Deployment", "Job"]) {
      const spec = podSpec(find(manifests, kind));
      expect(proxyOf(spec)?.args).toEqual(expect.arrayContaining(["--auto-iam-authn", "--private-ip"]));
      const env = envOf(spec.containers[0] as Container);
      expect(env, kind).toMatchObject({ DB_AUTH: "iam", DB_USER: "mlflow@my-proj.iam" });
      expect(env, kind).not.toHaveProperty("DB_PASSWORD");
    }
    expect(manifests.filter((m) => m.kind === "Secret")).toEqual([]);
    expect((find(manifests, "Deployment").spec as { template: { metadata: { annotations?: object } } }).template.metadata.annotations ?? {}).not.toHaveProperty("checksum/db-secret");
  });

  it("image digests pin the server and the proxy images", () => {
    const d1 = `sha256:${"a".repeat(64)}`;
    const d2 = `sha256:${"b".repeat(64)}`;
    const manifests = rendered(with_({ image: { digest: d1 }, cloudSqlProxy: { enabled: true, instanceConnectionName: INSTANCE, image: { digest: d2 } } }));
    const spec = podSpec(find(manifests, "Deployment"));
    expect(spec.containers[0]?.image).toMatch(/^ghcr\.io\/mlflow-k8s\/mlflow:3\.\d+\.\d+@sha256:a{64}$/);
    expect(proxyOf(spec)?.image).toBe(`gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.21.3@${d2}`);
  });
});

describe("the README's GKE recipe (values from the generator + the small gke.yaml)", () => {
  // Mirrors README.md "On GKE with Cloud SQL and GCS", step 5: keep the two in step.
  const generated = buildChartValues(
    parseGeneratorInput({
      gcsUri: "gs://ml-bucket/mlflow",
      cloudSqlInstance: "my-proj:europe-west1:mlflow-pg",
      cloudSqlPrivateIp: true,
      dbAuth: "iam",
      dbUser: "mlflow@my-proj.iam",
      dbSslmode: "disable",
      imageRepository: "europe-west1-docker.pkg.dev/my-proj/repo/mlflow",
      imageTag: "3.17.2",
      imageDigest: `sha256:${"a".repeat(64)}`,
      serviceType: "ClusterIP",
    }),
  );
  const gke = { serviceAccount: { create: false, name: "mlflow" }, networkPolicy: { enabled: true, databaseCidr: "10.20.0.0/24", ingressNamespaces: ["notebooks"] } };
  const manifests = rendered(merge(structuredClone(generated.values) as Record<string, unknown>, gke));

  it("no password anywhere, the proxy beside the server and the Job, both as the one ServiceAccount", () => {
    expect(generated.secret).toBeNull();
    expect(manifests.filter((m) => m.kind === "Secret" || m.kind === "ServiceAccount")).toEqual([]);
    for (const kind of ["Deployment", "Job"]) {
      const spec = podSpec(find(manifests, kind));
      expect(spec.serviceAccountName, kind).toBe("mlflow");
      expect(spec.initContainers?.[0]?.args, kind).toEqual(expect.arrayContaining(["--auto-iam-authn", "--private-ip", "my-proj:europe-west1:mlflow-pg"]));
      expect(envOf(spec.containers[0] as Container), kind).toMatchObject({ DB_HOST: "127.0.0.1", DB_AUTH: "iam", DB_SSLMODE: "disable" });
    }
  });

  it("the NetworkPolicy lets the pods reach the metadata server and Cloud SQL", () => {
    const egress = (find(manifests, "NetworkPolicy").spec as { egress: { ports: { port: number }[] }[] }).egress.map((e) => e.ports.map((p) => p.port));
    expect(egress).toEqual([[53, 53], [3307], [443], [80], [988]]);
  });
});

describe("the migration Job's ServiceAccount", () => {
  it("a chart-created ServiceAccount does not exist at pre-install: the Job runs as a hook copy with the same Workload Identity annotation", () => {
    const manifests = rendered(with_({ gcs: { gcpServiceAccount: "ml@my-proj.iam.gserviceaccount.com" } }));
    const job = find(manifests, "Job", "-migrate");
    expect(podSpec(job).serviceAccountName).toBe("demo-mlflow-migrate");
    const copy = find(manifests, "ServiceAccount", "-migrate");
    expect(copy.metadata.annotations).toEqual({
      "helm.sh/hook": "pre-install,pre-upgrade",
      "helm.sh/hook-weight": "-10",
      "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded",
      "iam.gke.io/gcp-service-account": "ml@my-proj.iam.gserviceaccount.com",
    });
    expect(Number(copy.metadata.annotations?.["helm.sh/hook-weight"])).toBeLessThan(Number(job.metadata.annotations?.["helm.sh/hook-weight"]));
  });

  it("a ServiceAccount the user brings already exists: the Job runs as it, and no copy is made", () => {
    const manifests = rendered(with_({ serviceAccount: { create: false, name: "mlflow-wi" } }));
    expect(podSpec(find(manifests, "Job", "-migrate")).serviceAccountName).toBe("mlflow-wi");
    expect(podSpec(find(manifests, "Deployment")).serviceAccountName).toBe("mlflow-wi");
    expect(manifests.filter((m) => m.kind === "ServiceAccount")).toEqual([]);
  });
});

describe("availability and isolation", () => {
  it("renders a PodDisruptionBudget only with more than one replica", () => {
    expect(rendered(BASE_VALUES as never).some((m) => m.kind === "PodDisruptionBudget")).toBe(false);
    const pdb = find(rendered(with_({ replicaCount: 3 })), "PodDisruptionBudget").spec as { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
    expect(pdb.maxUnavailable).toBe(1);
    expect(pdb.selector.matchLabels["app.kubernetes.io/component"]).toBe("server");
  });

  it("selects only server pods in the Service, so the migration Job and test pod never receive traffic", () => {
    const manifests = rendered(BASE_VALUES as never);
    const selector = (find(manifests, "Service").spec as { selector: Record<string, string> }).selector;
    const labelsOf = (m: Manifest) => (m.spec as { template?: { metadata: { labels: Record<string, string> } } }).template?.metadata.labels ?? m.metadata.labels ?? {};
    const matches = (labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    expect(matches(labelsOf(find(manifests, "Deployment")))).toBe(true);
    expect(matches(labelsOf(find(manifests, "Job", "-migrate")))).toBe(false);
    expect(matches(labelsOf(find(manifests, "Pod", "-test")))).toBe(false);
  });

  it("NetworkPolicy: port 5000 from the release and listed namespaces; egress to DNS, the database /32, GCS and the emulator", () => {
    const np = find(
      rendered(with_({ networkPolicy: { enabled: true, ingressNamespaces: ["notebooks"], ingressCidrs: ["10.128.0.0/20"] }, gcs: { auth: "none", emulatorHost: "http://10.0.0.5:4443" } })),
      "NetworkPolicy",
    ).spec as { ingress: { from: unknown[] }[]; egress: { ports: { port: number }[]; to?: { ipBlock: { cidr: string } }[] }[] };
    expect(np.ingress[0]?.from).toEqual([
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ml" } } },
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "notebooks" } } },
      { ipBlock: { cidr: "10.128.0.0/20" } },
    ]);
    const egressPorts = np.egress.map((e) => e.ports.map((p) => p.port));
    expect(egressPorts).toEqual([[53, 53], [5432], [443], [4443]]);
    expect(np.egress[1]?.to).toEqual([{ ipBlock: { cidr: "10.20.0.3/32" } }]);
  });

  type Egress = { ports: { port: number }[]; to?: { ipBlock: { cidr: string } }[] };
  const egressOf = (values: Record<string, unknown>) => (find(rendered(values), "NetworkPolicy").spec as { egress: Egress[] }).egress;
  const METADATA = [
    { to: [{ ipBlock: { cidr: "169.254.169.254/32" } }], ports: [{ port: 80, protocol: "TCP" }] },
    { to: [{ ipBlock: { cidr: "169.254.169.252/32" } }], ports: [{ port: 988, protocol: "TCP" }] },
  ];

  it("NetworkPolicy with Workload Identity: egress to the GKE metadata server (80, and 988 for Dataplane V2), where the tokens come from", () => {
    expect(egressOf(with_({ networkPolicy: { enabled: true }, gcs: { auth: "workloadIdentity" } }))).toEqual(expect.arrayContaining(METADATA));
  });

  it("NetworkPolicy with a key file or no credentials: no metadata-server egress", () => {
    for (const gcs of [{ auth: "keyFile", keyFileSecret: "k" }, { auth: "none" }]) {
      const cidrs = egressOf(with_({ networkPolicy: { enabled: true }, gcs })).flatMap((e) => (e.to ?? []).map((t) => t.ipBlock.cidr));
      expect(cidrs.filter((c) => c.startsWith("169.254."))).toEqual([]);
    }
  });

  it("NetworkPolicy with the Cloud SQL Auth Proxy: 3307 to the instance's range, 443 for its API, the metadata server; no direct database rule", () => {
    const egress = egressOf(
      with_({
        database: { host: "" },
        networkPolicy: { enabled: true, allowGcsEgress: false, databaseCidr: "10.30.0.0/24" },
        gcs: { auth: "keyFile", keyFileSecret: "k" },
        cloudSqlProxy: { enabled: true, instanceConnectionName: "p-1:europe-west1:pg" },
      }),
    );
    expect(egress.map((e) => e.ports.map((p) => p.port))).toEqual([[53, 53], [3307], [443], [80], [988]]);
    expect(egress[1]?.to).toEqual([{ ipBlock: { cidr: "10.30.0.0/24" } }]);
    expect(egress).toEqual(expect.arrayContaining(METADATA));
  });

  it("no NetworkPolicy unless enabled", () => {
    expect(rendered(BASE_VALUES as never).some((m) => m.kind === "NetworkPolicy")).toBe(false);
  });
});

describe("production knobs", () => {
  const deploymentSpec = (m: Manifest[]) => find(m, "Deployment").spec as { replicas?: number; template: { spec: PodSpec & Record<string, unknown> } };

  it("autoscaling: an autoscaling/v2 HPA on the Deployment, which then sets no replicas of its own", () => {
    const manifests = rendered(with_({ autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 7, targetMemoryUtilizationPercentage: 70 } }));
    const hpa = find(manifests, "HorizontalPodAutoscaler");
    expect(hpa.apiVersion).toBe("autoscaling/v2");
    expect(hpa.spec).toEqual({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "demo-mlflow" },
      minReplicas: 2,
      maxReplicas: 7,
      metrics: [
        { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } },
        { type: "Resource", resource: { name: "memory", target: { type: "Utilization", averageUtilization: 70 } } },
      ],
    });
    expect(deploymentSpec(manifests)).not.toHaveProperty("replicas");
  });

  it("without autoscaling: replicas from replicaCount and no HPA", () => {
    const manifests = rendered(with_({ replicaCount: 2 }));
    expect(deploymentSpec(manifests).replicas).toBe(2);
    expect(manifests.some((m) => m.kind === "HorizontalPodAutoscaler")).toBe(false);
  });

  it("the PodDisruptionBudget follows the fewest pods that always run: the HPA's minimum when it is on", () => {
    const kinds = (v: Record<string, unknown>) => rendered(with_(v)).map((m) => m.kind);
    expect(kinds({ replicaCount: 1, autoscaling: { enabled: true, minReplicas: 2 } })).toContain("PodDisruptionBudget");
    expect(kinds({ replicaCount: 3, autoscaling: { enabled: true, minReplicas: 1 } })).not.toContain("PodDisruptionBudget");
  });

  it("metrics: --expose-prometheus into an emptyDir (the root filesystem stays read-only); off by default", () => {
    const on = rendered(with_({ metrics: { enabled: true } }));
    const c = server(on);
    expect(c.args?.slice(c.args.indexOf("--expose-prometheus"), c.args.indexOf("--expose-prometheus") + 2)).toEqual(["--expose-prometheus", "/var/lib/mlflow/prometheus"]);
    expect(c.volumeMounts).toEqual(expect.arrayContaining([{ name: "prometheus-metrics", mountPath: "/var/lib/mlflow/prometheus" }]));
    expect(podSpec(find(on, "Deployment")).volumes).toEqual(expect.arrayContaining([{ name: "prometheus-metrics", emptyDir: {} }]));
    expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(server(rendered(BASE_VALUES as never)).args).not.toContain("--expose-prometheus");
  });

  it("ServiceMonitor: scrapes /metrics on the Service's http port, selecting that Service; with basic auth, as the admin", () => {
    const manifests = rendered(with_({ metrics: { enabled: true, serviceMonitor: { enabled: true, labels: { release: "prom" } } }, auth: { enabled: true, existingSecret: "mlflow-admin" } }));
    const sm = find(manifests, "ServiceMonitor");
    expect(sm.apiVersion).toBe("monitoring.coreos.com/v1");
    expect(sm.metadata.labels?.release).toBe("prom");
    const spec = sm.spec as { selector: { matchLabels: Record<string, string> }; endpoints: Record<string, unknown>[] };
    const svc = find(manifests, "Service");
    for (const [k, v] of Object.entries(spec.selector.matchLabels)) expect(svc.metadata.labels?.[k], k).toBe(v);
    expect((svc.spec as { ports: { name: string }[] }).ports.map((p) => p.name)).toContain("http");
    expect(spec.endpoints).toEqual([
      {
        port: "http",
        path: "/metrics",
        interval: "30s",
        basicAuth: { username: { name: "mlflow-admin", key: "username" }, password: { name: "mlflow-admin", key: "password" } },
      },
    ]);
  });

  it("initContainers run after the Cloud SQL Auth Proxy; extraContainers run beside the server", () => {
    const spec = podSpec(
      find(
        rendered(
          with_({
            cloudSqlProxy: { enabled: true, instanceConnectionName: "my-proj:europe-west1:pg" },
            initContainers: [{ name: "warmup", image: "busybox:1.36" }],
            extraContainers: [{ name: "shipper", image: "busybox:1.36" }],
          }),
        ),
        "Deployment",
      ),
    );
    expect((spec.initContainers ?? []).map((c) => c.name)).toEqual(["cloud-sql-proxy", "warmup"]);
    expect(spec.containers.map((c) => c.name)).toEqual(["mlflow", "shipper"]);
  });

  it("extraVolumes, extraVolumeMounts and extraEnvFrom reach the server and the migration Job, not the test pod", () => {
    const manifests = rendered(
      with_({
        extraVolumes: [{ name: "ca", configMap: { name: "db-ca" } }],
        extraVolumeMounts: [{ name: "ca", mountPath: "/etc/db-ca", readOnly: true }],
        extraEnvFrom: [{ secretRef: { name: "mlflow-extra" } }],
      }),
    );
    for (const kind of ["Deployment", "Job"]) {
      const spec = podSpec(find(manifests, kind));
      const c = spec.containers[0] as Container & { envFrom?: unknown };
      expect(spec.volumes, kind).toEqual(expect.arrayContaining([{ name: "ca", configMap: { name: "db-ca" } }]));
      expect(c.volumeMounts, kind).toEqual(expect.arrayContaining([{ name: "ca", mountPath: "/etc/db-ca", readOnly: true }]));
      expect(c.envFrom, kind).toEqual([{ secretRef: { name: "mlflow-extra" } }]);
    }
    const testPod = find(manifests, "Pod", "-test").spec as PodSpec;
    expect(testPod.volumes?.map((v) => v.name)).toEqual(["tmp"]);
  });

  it("priorityClassName and topologySpreadConstraints; a constraint without labelSelector selects the server pods", () => {
    const own = { matchLabels: { team: "ml" } };
    const spec = deploymentSpec(
      rendered(
        with_({
          priorityClassName: "mlflow-high",
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" },
            { maxSkew: 2, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule", labelSelector: own },
          ],
        }),
      ),
    ).template.spec;
    expect(spec.priorityClassName).toBe("mlflow-high");
    const tsc = spec.topologySpreadConstraints as { labelSelector: unknown }[];
    expect(tsc[0]?.labelSelector).toEqual({ matchLabels: { "app.kubernetes.io/name": "mlflow", "app.kubernetes.io/instance": "demo", "app.kubernetes.io/component": "server" } });
    expect(tsc[1]?.labelSelector).toEqual(own);
  });

  it("none of the knobs renders anything by default", () => {
    const manifests = rendered(BASE_VALUES as never);
    const spec = deploymentSpec(manifests).template.spec;
    expect(manifests.map((m) => m.kind)).not.toEqual(expect.arrayContaining(["HorizontalPodAutoscaler"]));
    expect(manifests.some((m) => m.kind === "ServiceMonitor")).toBe(false);
    expect(spec).not.toHaveProperty("priorityClassName");
    expect(spec).not.toHaveProperty("topologySpreadConstraints");
    expect(spec.containers.map((c) => c.name)).toEqual(["mlflow"]);
    expect(spec.containers[0]).not.toHaveProperty("envFrom");
  });
});

describe("basic auth", () => {
  it("off by default: no --app-name and no auth env", () => {
    const c = server(rendered(BASE_VALUES as never));
    expect(c.args).not.toContain("--app-name");
    expect(envOf(c)).not.toHaveProperty("MLFLOW_AUTH_ADMIN_PASSWORD");
  });

  it("on: --app-name basic-auth, admin credentials and CSRF key only by Secret reference, the test pod authenticates", () => {
    const manifests = rendered(with_({ auth: { enabled: true, existingSecret: "mlflow-admin", defaultPermission: "NO_PERMISSIONS" } }));
    const c = server(manifests);
    expect(c.args?.slice(c.args.indexOf("--app-name"), c.args.indexOf("--app-name") + 2)).toEqual(["--app-name", "basic-auth"]);
    expect(envOf(c)).toMatchObject({
      MLFLOW_AUTH_ADMIN_USERNAME: { secretKeyRef: { name: "mlflow-admin", key: "username" } },
      MLFLOW_AUTH_ADMIN_PASSWORD: { secretKeyRef: { name: "mlflow-admin", key: "password" } },
      MLFLOW_FLASK_SERVER_SECRET_KEY: { secretKeyRef: { name: "mlflow-admin", key: "secret-key" } },
      MLFLOW_AUTH_DEFAULT_PERMISSION: "NO_PERMISSIONS",
    });
    const test = (find(manifests, "Pod", "-test").spec as { containers: Container[] }).containers[0] as Container;
    expect(envOf(test).MLFLOW_AUTH_ADMIN_PASSWORD).toEqual({ secretKeyRef: { name: "mlflow-admin", key: "password" } });
    expect((test.args ?? []).join("\n")).toContain("Basic ");
  });
});
