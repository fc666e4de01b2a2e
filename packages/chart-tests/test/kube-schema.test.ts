/** Every manifest the chart renders, across the values matrix, is valid against the Kubernetes API schemas. */
import { describe, expect, it } from "vitest";
import { BASE_VALUES, render } from "../src/helm.ts";
import { validateManifests } from "../src/kube-schema.ts";

const MATRIX: [string, Record<string, unknown>][] = [
  ["defaults (proxied, existing Secret, NodePort)", {}],
  ["created Secret, direct artifacts, fixed nodePort", { database: { host: "db", password: "pw" }, artifacts: { destination: "gs://abc/x", proxied: false }, service: { nodePort: 30080 } }],
  ["ClusterIP + Ingress with TLS", { service: { type: "ClusterIP" }, ingress: { enabled: true, host: "ml.example.com", tls: { enabled: true, secretName: "tls" } } }],
  ["key file + emulator", { gcs: { auth: "keyFile", keyFileSecret: "key", emulatorHost: "http://10.0.0.1:4443" } }],
  ["Workload Identity, LoadBalancer, 3 replicas (PDB), NetworkPolicy", { gcs: { gcpServiceAccount: "ml@p-1.iam.gserviceaccount.com" }, service: { type: "LoadBalancer" }, replicaCount: 3, networkPolicy: { enabled: true, ingressCidrs: ["10.0.0.0/8"] } }],
  [
    "Cloud SQL Auth Proxy with IAM auth, digests, NetworkPolicy",
    {
      database: { auth: "iam", user: "ml@p-1.iam", host: "" },
      image: { digest: `sha256:${"c".repeat(64)}` },
      cloudSqlProxy: { enabled: true, instanceConnectionName: "p-1:europe-west1:pg", extraArgs: ["--private-ip"], image: { digest: `sha256:${"d".repeat(64)}` } },
      networkPolicy: { enabled: true },
    },
  ],
  [
    "autoscaling, metrics + ServiceMonitor with basic auth, extra containers/volumes/envFrom, priority, topology spread",
    {
      autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6, targetMemoryUtilizationPercentage: 75, behavior: { scaleDown: { stabilizationWindowSeconds: 300 } } },
      metrics: { enabled: true, serviceMonitor: { enabled: true, labels: { release: "kube-prometheus" } } },
      auth: { enabled: true, existingSecret: "mlflow-admin" },
      extraEnvFrom: [{ configMapRef: { name: "mlflow-extra" } }],
      extraVolumes: [{ name: "ca", configMap: { name: "db-ca" } }],
      extraVolumeMounts: [{ name: "ca", mountPath: "/etc/db-ca", readOnly: true }],
      initContainers: [{ name: "warmup", image: "busybox:1.36", command: ["true"] }],
      extraContainers: [{ name: "log-shipper", image: "busybox:1.36", command: ["sleep", "infinity"] }],
      priorityClassName: "mlflow-high",
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" }],
    },
  ],
];

describe("rendered manifests against the Kubernetes API schemas (kubernetes-models)", () => {
  it.each(MATRIX)("%s", async (_name, patch) => {
    const values = { ...structuredClone(BASE_VALUES), ...patch } as Record<string, unknown>;
    if (patch.database) values.database = { ...BASE_VALUES.database, existingSecret: "", ...(patch.database as object) };
    const r = render(values);
    expect(r.ok, r.stderr).toBe(true);
    expect(r.manifests.length).toBeGreaterThanOrEqual(4);
    expect(await validateManifests(r.manifests)).toEqual([]);
  });

  it("the validator catches a real schema violation (so the checks above can fail)", async () => {
    const bad = { apiVersion: "v1", kind: "Service", metadata: { name: "x" }, spec: { ports: [{ port: "not-a-number" }] } };
    expect(await validateManifests([bad])).toEqual([expect.stringMatching(/Service\/x: .*port must be integer/)]);
    const badMonitor = { apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor", metadata: { name: "m" }, spec: { selector: {}, endpoints: [{ interval: 30 }] } };
    expect(await validateManifests([badMonitor])).toEqual([expect.stringMatching(/ServiceMonitor\/m: .*interval/)]);
  });
});
