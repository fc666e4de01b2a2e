/** Provider-independent image helpers for the e2e. */
import type { ClusterProvider, ImageBuildSpec } from "./provider.ts";
import { ambientDocker, dockerBuild } from "./docker.ts";

/**
 * Builds `spec` with the Docker engine the provider loads from (the local provider's
 * private dockerd; the ambient docker otherwise) and makes it runnable in the cluster.
 * Use an explicit non-latest tag and `imagePullPolicy: IfNotPresent`.
 */
export async function buildAndLoadImage(provider: ClusterProvider, spec: ImageBuildSpec): Promise<void> {
  if (provider.buildImage) await provider.buildImage(spec);
  else await dockerBuild(ambientDocker, spec);
  await provider.loadImage(spec.tag);
}
