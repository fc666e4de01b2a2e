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
  });
});
