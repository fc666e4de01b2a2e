/** values.schema.json as Helm enforces it, and agreement with the TypeScript model. */
import { describe, expect, it } from "vitest";
import { buildChartValues, parseGeneratorInput, validateChartValues } from "@mlflow-k8s/values";
import { at, BASE_VALUES, lint, render } from "../src/helm.ts";

const withValues = (patch: Record<string, unknown>) => ({ ...structuredClone(BASE_VALUES), ...patch });
const PROXY = { enabled: true, instanceConnectionName: "my-proj:europe-west1:mlflow" };

// Each case: values Helm must reject, and the path Helm's message must name.
const BAD: [string, Record<string, unknown>, RegExp][] = [
  ["an unknown top-level key", { replicas: 2 }, /additional propert(y|ies) '?replicas'? (is )?not allowed/i],
  ["an unknown nested key", { database: { ...BASE_VALUES.database, passwd: "x" } }, /passwd/],
  ["a nodePort below 30000", { service: { nodePort: 8080 } }, at("service.nodePort")],
  ["a port above 65535", { database: { ...BASE_VALUES.database, port: 70000 } }, at("database.port")],
  ["a port given as a string", { database: { ...BASE_VALUES.database, port: "5432" } }, at("database.port")],
  ["a non-gs artifact URI", { artifacts: { destination: "s3://bucket/x" } }, at("artifacts.destination")],
  ["a host with spaces", { database: { ...BASE_VALUES.database, host: "db host" } }, at("database.host")],
  ["an unknown service type", { service: { type: "ExternalName" } }, at("service.type")],
  ["zero replicas", { replicaCount: 0 }, at("replicaCount")],
  ["an invalid sslmode", { database: { ...BASE_VALUES.database, sslmode: "on" } }, at("database.sslmode")],
  ["a bad resource quantity", { resources: { requests: { memory: "lots" } } }, at("resources.requests.memory")],
  ["an image digest that is not sha256:<64 hex>", { image: { digest: "sha256:abc123" } }, at("image.digest")],
  ["a proxy image digest that is not sha256:<64 hex>", { cloudSqlProxy: { image: { digest: `md5:${"a".repeat(64)}` } } }, at("cloudSqlProxy.image.digest")],
  ["a malformed instance connection name", { cloudSqlProxy: { enabled: true, instanceConnectionName: "my-proj/mlflow" } }, at("cloudSqlProxy.instanceConnectionName")],
  ["an unknown database.auth", { database: { ...BASE_VALUES.database, auth: "token" } }, at("database.auth")],
  ["autoscaling to zero pods", { autoscaling: { enabled: true, maxReplicas: 0 } }, at("autoscaling.maxReplicas")],
  ["a scrape interval without a unit", { metrics: { serviceMonitor: { interval: "30" } } }, at("metrics.serviceMonitor.interval")],
  ["a priorityClassName that is not a Kubernetes name", { priorityClassName: "High Priority" }, at("priorityClassName")],
  ["extraContainers given as a map", { extraContainers: { shipper: { image: "x" } } }, at("extraContainers")],
];

describe("values.schema.json enforced by helm", () => {
  it.each(BAD)("rejects %s with the schema's message", (_name, patch, message) => {
    const r = render(withValues(patch));
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(r.stderr).toMatch(message);
  });

  it.each(BAD)("the TypeScript model also rejects %s (schema and model agree)", (_name, patch) => {
    expect(() => validateChartValues(withValues(patch))).toThrow();
  });

  it.each([
    ["database.host missing", { database: { existingSecret: "s" } }, /database\.host is required/],
    ["artifacts.destination missing", { artifacts: {} }, /artifacts\.destination is required/],
    ["no password and no existing Secret", { database: { host: "db" } }, /no database password: set database\.existingSecret/],
    ["a whitespace password", { database: { host: "db", password: "   " } }, /database\.password is only whitespace/],
    ["keyFile without its Secret", { gcs: { auth: "keyFile" } }, /gcs\.keyFileSecret is empty/],
    ["ingress without a host", { ingress: { enabled: true } }, /ingress\.host is empty/],
    ["auth without its Secret", { auth: { enabled: true } }, /auth\.existingSecret is empty/],
    ["TLS without its Secret", { ingress: { enabled: true, host: "ml.example.com", tls: { enabled: true } } }, /ingress\.tls\.secretName is empty/],
    ["a nodePort on a ClusterIP Service", { service: { type: "ClusterIP", nodePort: 30080 } }, /service\.nodePort is set but service\.type is ClusterIP/],
    ["the proxy without an instance connection name", { cloudSqlProxy: { enabled: true } }, /cloudSqlProxy\.instanceConnectionName is empty/],
    ["IAM auth with a password", { database: { auth: "iam", password: "pw" }, cloudSqlProxy: PROXY }, /database\.auth is iam, which uses no password/],
    ["IAM auth with an existing password Secret", { database: { auth: "iam", existingSecret: "db" }, cloudSqlProxy: PROXY }, /database\.auth is iam, which uses no password/],
    ["autoscaling with minReplicas > maxReplicas", { autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 3 } }, /autoscaling\.minReplicas \(5\) is greater than autoscaling\.maxReplicas \(3\)/],
    ["autoscaling without a target", { autoscaling: { enabled: true, targetCPUUtilizationPercentage: null } }, /autoscaling\.enabled is true but no target is set/],
    ["a ServiceMonitor without metrics", { metrics: { serviceMonitor: { enabled: true } } }, /metrics\.serviceMonitor\.enabled is true but metrics\.enabled is false/],
    ["IAM auth without the proxy", { database: { host: "db", auth: "iam" } }, /database\.auth is iam but cloudSqlProxy\.enabled is false/],
  ])("fails with a sentence naming what to set when %s", (_name, patch, message) => {
    const r = render(withValues(patch));
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(message);
    expect(() => validateChartValues(withValues(patch))).toThrow();
  });

  it("accepts everything the generator writes, across its options", () => {
    const inputs = [
      { gcsUri: "gs://abc", dbHost: "10.0.0.3" },
      { gcsUri: "gs://ml.example.com/a/b", dbHost: "pg.internal", dbPort: 6543, directArtifacts: true, serviceType: "ClusterIP", passwordFrom: "secret:creds:pw" },
      { gcsUri: "gs://abc/x", dbHost: "::1", nodePort: 32767, gcsEmulatorHost: "http://127.0.0.1:4443", replicas: 3, memoryLimit: "2Gi", allowedHosts: ["mlflow.corp"] },
      { gcsUri: "gs://abc/x", dbHost: "db", serviceType: "LoadBalancer", gcsAuth: "keyFile", gcsKeySecret: "gcs-key", imageRepository: "reg/mlflow", imageTag: "t1" },
      { gcsUri: "gs://abc/x", dbHost: "db", gcsAuth: "workloadIdentity", gcpServiceAccount: "ml@proj-1.iam.gserviceaccount.com" },
      { gcsUri: "gs://abc/x", cloudSqlInstance: "proj-1:europe-west1:pg", dbAuth: "iam", dbUser: "ml@proj-1.iam", cloudSqlPrivateIp: true, imageDigest: `sha256:${"0".repeat(64)}` },
      { gcsUri: "gs://abc/x", cloudSqlInstance: "proj-1:europe-west1:pg", passwordFrom: "secret:pg" },
    ];
    for (const input of inputs) {
      const { values } = buildChartValues(parseGeneratorInput(input));
      const r = render(values);
      expect(r.ok, `${JSON.stringify(input)}\n${r.stderr}`).toBe(true);
    }
  });

  it("passes helm lint --strict", () => {
    const r = lint({ ...BASE_VALUES });
    expect(r.output).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(r.ok).toBe(true);
  });
});
