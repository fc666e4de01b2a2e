/**
 * Picks a cluster provider: an explicit name wins; else the first available of
 * kind, minikube. `existing` (a cluster this project did not make, possibly
 * production) is never picked on its own: only when named, and only with an
 * explicit kubeconfig context, never the ambient current-context.
 */
import type { ClusterProvider, ProviderName } from "./provider.ts";
import { KindProvider } from "./providers/kind.ts";
import { MinikubeProvider } from "./providers/minikube.ts";
import { ExistingProvider } from "./providers/existing.ts";

/** Every provider name, for flag choices. */
export const PROVIDER_ORDER: ProviderName[] = ["kind", "minikube", "existing"];
/** What auto-selection tries, in order: only providers that make (and remove) their own cluster. */
export const AUTO_PROVIDER_ORDER: ProviderName[] = ["kind", "minikube"];

export interface ProviderOptions {
  /** kubeconfig context for `existing` (required there, refused elsewhere by the e2e flags). */
  context?: string | undefined;
  /** `existing` only: registry to push built images to, host address pods reach, build base image. */
  registry?: string | undefined;
  hostAddressForPods?: string | undefined;
  baseImage?: string | undefined;
}

export type ProviderFactory = (name: ProviderName, options: ProviderOptions) => ClusterProvider;

export const defaultFactory: ProviderFactory = (name, options) => {
  switch (name) {
    case "kind":
      return new KindProvider();
    case "minikube":
      return new MinikubeProvider();
    case "existing":
      return new ExistingProvider({ context: options.context ?? "", registry: options.registry, hostAddressForPods: options.hostAddressForPods, baseImage: options.baseImage });
  }
};

export function isProviderName(x: string): x is ProviderName {
  return (PROVIDER_ORDER as string[]).includes(x);
}

/**
 * `name` given (flag or MLFLOW_K8S_PROVIDER): that provider, or an error saying why it is
 * not available. Otherwise the first available in AUTO_PROVIDER_ORDER; an error lists every reason.
 */
export async function selectProvider(name?: string, factory: ProviderFactory = defaultFactory, options: ProviderOptions = {}): Promise<ClusterProvider> {
  if (name) {
    if (!isProviderName(name)) throw new Error(`unknown cluster provider "${name}": use one of ${PROVIDER_ORDER.join(", ")}`);
    if (name === "existing" && !options.context) {
      throw new Error(
        'cluster provider "existing" needs an explicit kubeconfig context (--context <name>): it installs into and deletes namespaces of that cluster, so it never follows the current-context',
      );
    }
    const p = factory(name, options);
    const a = await p.available();
    if (!a.ok) throw new Error(`cluster provider "${name}" is not available: ${a.reason}`);
    return p;
  }
  const reasons: string[] = [];
  for (const n of AUTO_PROVIDER_ORDER) {
    const p = factory(n, options);
    const a = await p.available();
    if (a.ok) return p;
    reasons.push(`${n}: ${a.reason}`);
  }
  throw new Error(`no cluster provider is available (existing is only used when named, with --context):\n  - ${reasons.join("\n  - ")}`);
}
