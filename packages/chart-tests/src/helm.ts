/**
 * Thin wrappers over the real helm binary (HELM_BIN or `helm` on PATH) that the
 * chart tests use: render with values, lint. Values go through a temp file so
 * nothing (passwords included) is put on a command line.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";

export const CHART_DIR = new URL("../../../charts/mlflow", import.meta.url).pathname;
/** vitest.config.ts runs the suite once per supported Helm, each with its own HELM_BIN. */
export const HELM = process.env.HELM_BIN ?? "helm";

/** charts/mlflow/Chart.yaml, parsed. */
export const CHART_YAML = YAML.parse(readFileSync(join(CHART_DIR, "Chart.yaml"), "utf8")) as {
  version: string; appVersion: string; kubeVersion: string; home?: string; icon?: string; sources?: string[]; annotations: Record<string, string>;
};
const chartYaml = CHART_YAML;
export const CHART_VERSION = chartYaml.version;
/** The oldest Kubernetes the chart claims (kubeVersion ">=1.29.0-0" -> "1.29.0"): what renders target,
 *  so that no Helm's built-in default (v1.24 for Helm 3.9) decides the result. */
export const MIN_KUBE_VERSION = /^>=\s*v?(\d+\.\d+\.\d+)/.exec(chartYaml.kubeVersion)?.[1] ?? "";
export const CHART_ANNOTATIONS = chartYaml.annotations;

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  // Rendered manifests are arbitrary Kubernetes objects; tests narrow them as needed.
  [key: string]: unknown;
}

export interface RenderResult {
  ok: boolean;
  manifests: Manifest[];
  stderr: string;
}

/** Runs helm with private cache/config dirs; values go through a 0600 temp file. */
export function helm(args: string[], values?: unknown): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "chart-tests-"));
  try {
    const valueArgs: string[] = [];
    if (values !== undefined) {
      writeFileSync(join(dir, "values.yaml"), YAML.stringify(values), { mode: 0o600 });
      valueArgs.push("-f", join(dir, "values.yaml"));
    }
    const r = spawnSync(HELM, [...args, ...valueArgs], { encoding: "utf8", env: { ...process.env, HELM_CACHE_HOME: join(dir, "cache"), HELM_CONFIG_HOME: join(dir, "config") } });
    if (r.error) throw new Error(`cannot run helm (${HELM}): ${r.error.message}. Run scripts/bootstrap.sh or set HELM_BIN.`);
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` the chart; manifests parsed, hooks and tests included. */
export function render(values: unknown, opts: { release?: string; namespace?: string; chart?: string; kubeVersion?: string } = {}): RenderResult {
  const r = helm(["template", opts.release ?? "demo", opts.chart ?? CHART_DIR, "--namespace", opts.namespace ?? "ml", "--kube-version", opts.kubeVersion ?? MIN_KUBE_VERSION], values);
  const manifests = r.status === 0 ? YAML.parseAllDocuments(r.stdout).map((d) => d.toJS() as Manifest).filter(Boolean) : [];
  return { ok: r.status === 0, manifests, stderr: r.stderr };
}

export function lint(values: unknown, chart = CHART_DIR): { ok: boolean; output: string } {
  const r = helm(["lint", "--strict", chart], values);
  return { ok: r.status === 0, output: r.stdout + r.stderr };
}

/** Helm 4 names a value failing the schema by JSON pointer (`at '/service/nodePort'`), Helm 3 by
 *  dotted path (`service.nodePort: Must be ...`): a pattern for the value's path in either form. */
export const at = (path: string) => new RegExp(`/${path.replaceAll(".", "/")}\\b|\\b${path.replaceAll(".", "\\.")}\\b`);

export function helmVersion(): string {
  return helm(["version", "--short"]).stdout.trim();
}

export function find(manifests: Manifest[], kind: string, nameSuffix = ""): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name.endsWith(nameSuffix));
  if (!found) throw new Error(`no ${kind}${nameSuffix ? ` named *${nameSuffix}` : ""} in: ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(", ")}`);
  return found;
}

/** Minimal valid values: what every render in the tests starts from. */
export const BASE_VALUES = {
  database: { host: "10.20.0.3", existingSecret: "mlflow-db", existingSecretKey: "password" },
  artifacts: { destination: "gs://ml-artifacts/mlflow" },
} as const;
