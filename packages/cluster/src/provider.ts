/**
 * A cluster provider brings up (or reuses) a Kubernetes cluster for the e2e and
 * tears down exactly what it made. Every provider speaks this one interface so the
 * e2e phases never branch on the provider's name.
 */
export type ProviderName = "kind" | "minikube" | "existing";

export interface ClusterInfo {
  /** Absolute path of the kubeconfig that reaches this cluster. */
  kubeconfig: string;
  /** Context inside that kubeconfig to use. */
  context: string;
  /**
   * Address on which NodePorts are reachable from this machine, when the provider
   * knows better than the Node objects (e.g. kind publishes them on 127.0.0.1).
   * Undefined: discover from the Node's addresses.
   */
  nodePortHost?: string;
  /**
   * An address of this machine that pods can reach: where host-run services (PostgreSQL,
   * the GCS emulator) must listen for pods. kind: the gateway of the `kind` Docker network (e.g. 172.18.0.1); minikube:
   * host.minikube.internal as the node resolves it (docker driver: the profile network's
   * gateway, e.g. 192.168.49.1). Undefined: the provider cannot tell (existing), use
   * in-cluster services.
   */
  hostAddressForPods?: string;
  /**
   * A registry this machine pushes to and the cluster pulls from under the same name (kind:
   * the local registry, "localhost:5001"; charts go to oci://<registry>/charts). Undefined:
   * none; images reach the cluster through loadImage alone.
   */
  registry?: string;
  /**
   * The NodePorts the provider publishes on nodePortHost (kind: 127.0.0.1:<port> through its
   * extraPortMappings): the first for the release under test, the second for a side release
   * (the upgrade phases). Services must use them. Undefined: any NodePort works.
   */
  nodePorts?: number[];
}

/** What to build with `docker build` (see ClusterProvider.buildImage). */
export interface ImageBuildSpec {
  /** Build context directory. */
  context: string;
  /** Explicit, non-latest tag, e.g. "mlflow-k8s/mlflow:3.6.0". */
  tag: string;
  /** Dockerfile path (default: <context>/Dockerfile). */
  dockerfile?: string;
  buildArgs?: Record<string, string>;
}

export interface Availability {
  ok: boolean;
  /** Why it is not available and how to fix that (names the missing tool). */
  reason?: string;
}

export interface ClusterProvider {
  readonly name: ProviderName;
  /** Cheap check that the tools this provider needs are present. Never starts anything. */
  available(): Promise<Availability>;
  /** Tool name -> version string, for the preflight log. */
  toolVersions(): Promise<Record<string, string>>;
  /** Create or start the cluster (idempotent: reuses a running one it made). */
  up(): Promise<ClusterInfo>;
  /**
   * Make a locally built image (by reference, e.g. "mlflow-k8s/mlflow:3.6.0") runnable in
   * the cluster: kind pushes it to its local registry, the others load it into the nodes.
   * Returns the reference pods must use (kind: "localhost:5001/mlflow:3.6.0").
   */
  loadImage(imageRef: string): Promise<string>;
  /**
   * Build an image with the Docker engine this provider loads images from (kind: the
   * project's own dockerd where no Docker engine runs, FROM its offline Debian base).
   * Optional: the e2e may build with the ambient docker and call loadImage().
   */
  buildImage?(spec: ImageBuildSpec): Promise<void>;
  /** Remove what up() made and nothing else. Safe to call when nothing is up. */
  down(): Promise<void>;
}
