/** The chart rendered by the real helm binary across the values matrix, asserted on parsed manifests. */
import { describe, expect, it } from "vitest";
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
};
type PodSpec = { containers: Container[]; securityContext: Record<string, unknown>; volumes?: { name: string; secret?: { secretName: string } }[]; serviceAccountName?: string };

const podSpec = (m: Manifest): PodSpec => (m.spec as { template: { spec: PodSpec } }).template.spec;
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

  it("no NetworkPolicy unless enabled", () => {
    expect(rendered(BASE_VALUES as never).some((m) => m.kind === "NetworkPolicy")).toBe(false);
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
