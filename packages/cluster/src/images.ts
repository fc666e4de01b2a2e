/** Provider-independent image helpers for the e2e. */
import type { ClusterProvider, ImageBuildSpec } from "./provider.ts";
import { ambientDocker, dockerBuild } from "./docker.ts";

/**
 * Builds `spec` with the Docker engine the provider loads from (the local provider's
 * private dockerd; the ambient docker otherwise) and makes it runnable in the cluster.
 * Use an explicit non-latest tag and `imagePullPolicy: IfNotPresent`; returns the reference
 * pods must use (kind: the image in its local registry).
 */
export async function buildAndLoadImage(provider: ClusterProvider, spec: ImageBuildSpec): Promise<string> {
  if (provider.buildImage) await provider.buildImage(spec);
  else await dockerBuild(ambientDocker, spec);
  return provider.loadImage(spec.tag);
}
