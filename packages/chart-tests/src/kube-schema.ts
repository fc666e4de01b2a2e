/**
 * Validates rendered manifests against the Kubernetes API's OpenAPI schemas, as
 * compiled into the kubernetes-models package, and custom resources' CRD schemas
 * (@kubernetes-models/prometheus-operator), offline, no cluster needed.
 */
import type { Manifest } from "./helm.ts";

type Validatable = { validate(): void };
type ModelClass = new (data: unknown) => Validatable;

/** Packages holding the models of custom resources the chart renders, by API group. */
const CRD_PACKAGES: Record<string, string> = { "monitoring.coreos.com": "@kubernetes-models/prometheus-operator" };

export async function modelFor(apiVersion: string, kind: string): Promise<ModelClass> {
  // core/v1 lives at kubernetes-models/v1/<Kind>; groups at kubernetes-models/<group>/<version>/<Kind>.
  const pkg = CRD_PACKAGES[apiVersion.split("/")[0] ?? ""] ?? "kubernetes-models";
  const mod = (await import(`${pkg}/${apiVersion}/${kind}`)) as Record<string, ModelClass>;
  const cls = mod[kind] ?? mod.default;
  if (!cls) throw new Error(`kubernetes-models has no ${apiVersion} ${kind}`);
  return cls;
}

/** Returns one message per invalid manifest; empty when all are valid. */
export async function validateManifests(manifests: Manifest[]): Promise<string[]> {
  const problems: string[] = [];
  for (const m of manifests) {
    try {
      const Model = await modelFor(m.apiVersion, m.kind);
      new Model(m).validate();
    } catch (error) {
      problems.push(`${m.kind}/${m.metadata?.name}: ${(error as Error).message}`);
    }
  }
  return problems;
}
