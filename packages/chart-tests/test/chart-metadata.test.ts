/** Chart.yaml's promises: the Kubernetes range the templates need, and the metadata Artifact Hub shows. */
import { readFileSync } from "node:fs";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { BASE_VALUES, CHART_ANNOTATIONS, CHART_DIR, CHART_YAML, MIN_KUBE_VERSION, render, type Manifest } from "../src/helm.ts";

type Container = { lifecycle?: { preStop?: { sleep?: unknown } }; restartPolicy?: string };
type PodSpec = { containers?: Container[]; initContainers?: Container[] };

// Kubernetes features the templates may use, and the minor release where each is on by default.
const FEATURES: { name: string; since: [number, number]; usedBy: (pod: PodSpec) => boolean }[] = [
  { name: "the preStop sleep action (PodLifecycleSleepAction, beta in 1.30)", since: [1, 30], usedBy: (pod) => (pod.containers ?? []).some((c) => c.lifecycle?.preStop?.sleep !== undefined) },
  { name: "native sidecars (init containers with restartPolicy: Always, beta in 1.29)", since: [1, 29], usedBy: (pod) => (pod.initContainers ?? []).some((c) => c.restartPolicy === "Always") },
];

const podSpecs = (manifests: Manifest[]): PodSpec[] =>
  manifests.flatMap((m) => {
    const spec = m.spec as { template?: { spec: PodSpec } } & PodSpec;
    return m.kind === "Pod" ? [spec] : spec?.template ? [spec.template.spec] : [];
  });

// Values that switch on every optional part of the chart.
const EVERYTHING = {
  ...structuredClone(BASE_VALUES),
  replicaCount: 3,
  cloudSqlProxy: { enabled: true, instanceConnectionName: "p-1:europe-west1:pg" },
  auth: { enabled: true, existingSecret: "mlflow-auth" },
  networkPolicy: { enabled: true },
  ingress: { enabled: true, host: "ml.example.com", tls: { enabled: true, secretName: "tls" } },
};

describe("Chart.yaml kubeVersion", () => {
  it("has a lower bound no older than any Kubernetes feature the rendered pods use", () => {
    const [major, minor] = MIN_KUBE_VERSION.split(".").map(Number) as [number, number];
    const manifests = [BASE_VALUES, EVERYTHING].flatMap((values) => {
      const r = render(values);
      expect(r.ok, r.stderr).toBe(true);
      return r.manifests;
    });
    const used = FEATURES.filter((f) => podSpecs(manifests).some(f.usedBy));
    expect(used.length, "the Cloud SQL Auth Proxy's native sidecar is rendered").toBeGreaterThan(0);
    const tooNew = used.filter((f) => f.since[0] > major || (f.since[0] === major && f.since[1] > minor));
    expect(tooNew.map((f) => `${f.name} needs ${f.since.join(".")}, kubeVersion allows ${MIN_KUBE_VERSION}`)).toEqual([]);
  });

  it("makes helm refuse a Kubernetes below it", () => {
    const [major, minor] = MIN_KUBE_VERSION.split(".").map(Number) as [number, number];
    const r = render(BASE_VALUES, { kubeVersion: `${major}.${minor - 1}.0` });
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(/chart requires kubeVersion: >=1\.\d+\.0-0 which is incompatible with Kubernetes v1\.\d+\.0/);
  });
});

describe("Chart.yaml metadata (Artifact Hub)", () => {
  it("has home, icon and sources as https URLs", () => {
    expect(CHART_YAML.home).toMatch(/^https:\/\//);
    expect(CHART_YAML.icon).toMatch(/^https:\/\/.+\.(svg|png)$/);
    expect(CHART_YAML.sources?.length).toBeGreaterThan(0);
    for (const s of CHART_YAML.sources ?? []) expect(s).toMatch(/^https:\/\//);
  });

  it("names the license of the repository's LICENSE file", () => {
    expect(CHART_ANNOTATIONS["artifacthub.io/license"]).toBe("Apache-2.0");
    expect(readFileSync(new URL("../../../LICENSE", import.meta.url), "utf8")).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
  });

  it("lists the image the chart runs by default, at appVersion", () => {
    const images = YAML.parse(CHART_ANNOTATIONS["artifacthub.io/images"] ?? "[]") as { name: string; image: string }[];
    const defaults = YAML.parse(readFileSync(`${CHART_DIR}/values.yaml`, "utf8")) as { image: { repository: string } };
    expect(images).toEqual([{ name: "mlflow", image: `${defaults.image.repository}:${CHART_YAML.appVersion}` }]);
  });

  it("describes this version's changes in the form Artifact Hub reads", () => {
    const changes = YAML.parse(CHART_ANNOTATIONS["artifacthub.io/changes"] ?? "[]") as { kind: string; description: string }[];
    expect(changes.length).toBeGreaterThan(0);
    for (const c of changes) {
      expect(["added", "changed", "deprecated", "removed", "fixed", "security"]).toContain(c.kind);
      expect(c.description.length).toBeGreaterThan(10);
    }
  });
});
