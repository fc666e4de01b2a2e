/**
 * The versions the from-source builds produce (from-source/*.sh) and where they are cached.
 */
import { homedir } from "node:os";
import { join } from "node:path";

export const KUBERNETES_VERSION = "v1.34.4";
/** The pause image tag kubelet 1.34 and containerd expect (build/pause/Makefile TAG). */
export const PAUSE_VERSION = "3.10.1";
export const PAUSE_IMAGE = `registry.k8s.io/pause:${PAUSE_VERSION}`;
/** CoreDNS as kubeadm 1.34 names it; from-source/build-coredns.sh builds this version by default. */
export const COREDNS_VERSION = "v1.12.1";
/** minikube as .github/workflows/e2e.yml pins it; from-source/build-minikube.sh builds this version by default. */
export const MINIKUBE_VERSION = "v1.38.1";
/** The Debian base built from debootstrap; images/mlflow builds FROM it. */
export const DEBIAN_BASE_IMAGE = "mlflow-k8s/debian:bookworm";

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.MLFLOW_K8S_CACHE || join(homedir(), ".cache", "mlflow-k8s");
}
