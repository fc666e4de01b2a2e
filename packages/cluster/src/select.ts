/** Picks a cluster provider: an explicit name wins; else kind, minikube, existing, local. */
import type { ClusterProvider, ProviderName } from "./provider.ts";
import { KindProvider } from "./providers/kind.ts";
import { MinikubeProvider } from "./providers/minikube.ts";
import { ExistingProvider } from "./providers/existing.ts";
import { LocalProvider } from "./providers/local.ts";

export const PROVIDER_ORDER: ProviderName[] = ["kind", "minikube", "existing", "local"];

export type ProviderFactory = (name: ProviderName) => ClusterProvider;

export const defaultFactory: ProviderFactory = (name) => {
  switch (name) {
    case "kind":
      return new KindProvider();
    case "minikube":
      return new MinikubeProvider();
    case "existing":
      return new ExistingProvider();
    case "local":
      return new LocalProvider();
  }
};

export function isProviderName(x: string): x is ProviderName {
  return (PROVIDER_ORDER as string[]).includes(x);
}

/**
 * `name` given (flag or MLFLOW_K8S_PROVIDER): that provider, or an error saying why it is
 * not available. Otherwise the first available in PROVIDER_ORDER; an error lists every reason.
 */
export async function selectProvider(name?: string, factory: ProviderFactory = defaultFactory): Promise<ClusterProvider> {
  if (name) {
    if (!isProviderName(name)) throw new Error(`unknown cluster provider "${name}": use one of ${PROVIDER_ORDER.join(", ")}`);
    const p = factory(name);
    const a = await p.available();
    if (!a.ok) throw new Error(`cluster provider "${name}" is not available: ${a.reason}`);
    return p;
  }
  const reasons: string[] = [];
  for (const n of PROVIDER_ORDER) {
    const p = factory(n);
    const a = await p.available();
    if (a.ok) return p;
    reasons.push(`${n}: ${a.reason}`);
  }
  throw new Error(`no cluster provider is available:\n  - ${reasons.join("\n  - ")}`);
}
