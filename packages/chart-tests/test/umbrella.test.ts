/**
 * The chart as a dependency of a parent (umbrella) chart, the way platform teams ship it:
 * `helm dependency build` from a file:// repository, then lint and render the parent. Helm
 * hands every subchart a `global` key, so the root of values.schema.json must admit it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { at, BASE_VALUES, CHART_DIR, CHART_VERSION, find, helm, lint, render } from "../src/helm.ts";

const parent = mkdtempSync(join(tmpdir(), "umbrella-"));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

// What a parent chart's values look like: shared settings under global, ours under the dependency's name.
const GLOBAL = { imageRegistry: "registry.example.com", environment: "prod", labels: { team: "ml" } };
const parentValues = (mlflow: Record<string, unknown>, withGlobal = true) => ({ ...(withGlobal ? { global: GLOBAL } : {}), mlflow });

beforeAll(() => {
  writeFileSync(
    join(parent, "Chart.yaml"),
    YAML.stringify({
      apiVersion: "v2",
      name: "platform",
      version: "1.0.0",
      dependencies: [{ name: "mlflow", version: CHART_VERSION, repository: `file://${CHART_DIR}` }],
    }),
  );
  // A parent has its own templates and values; this one shows the global block it shares.
  writeFileSync(join(parent, "values.yaml"), YAML.stringify({ global: {}, mlflow: {} }));
  mkdirSync(join(parent, "templates"));
  writeFileSync(
    join(parent, "templates", "configmap.yaml"),
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-platform\ndata:\n  environment: {{ .Values.global.environment | default \"none\" | quote }}\n",
  );
  const r = helm(["dependency", "build", parent]);
  expect(r.status, r.stdout + r.stderr).toBe(0);
  expect(existsSync(join(parent, "charts", `mlflow-${CHART_VERSION}.tgz`))).toBe(true);
});

describe("charts/mlflow inside a parent chart", () => {
  it.each([
    ["with a global block", true],
    ["without one (the subchart still gets global: {})", false],
  ])("renders %s, the subchart values reaching the server", (_name, withGlobal) => {
    const r = render(parentValues({ ...structuredClone(BASE_VALUES), replicaCount: 2 }, withGlobal), { chart: parent, release: "platform" });
    expect(r.ok, r.stderr).toBe(true);
    const deployment = find(r.manifests, "Deployment", "-mlflow") as unknown as { spec: { replicas: number; template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } };
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.template.spec.containers[0]?.env).toContainEqual({ name: "DB_HOST", value: BASE_VALUES.database.host });
    expect(find(r.manifests, "ConfigMap", "-platform").data).toEqual({ environment: withGlobal ? "prod" : "none" });
  });

  it("passes helm lint --strict", () => {
    const r = lint(parentValues(structuredClone(BASE_VALUES)), parent);
    expect(r.output).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(r.ok).toBe(true);
  });

  it("still rejects bad subchart values with the schema's message", () => {
    const r = render(parentValues({ ...structuredClone(BASE_VALUES), service: { nodePort: 8080 } }), { chart: parent, release: "platform" });
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(r.stderr).toMatch(at("service.nodePort"));
  });
});
