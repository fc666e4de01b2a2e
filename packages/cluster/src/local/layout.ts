/**
 * Where the local cluster keeps everything, and the fixed choices it makes
 * (addresses, ports, names). All state lives under one directory so `down` can
 * find and remove exactly what `up` made.
 */
import { homedir } from "node:os";
import { join } from "node:path";

export const KUBERNETES_VERSION = "v1.34.4";
/** The pause image tag kubelet 1.34 and containerd expect (build/pause/Makefile TAG). */
export const PAUSE_VERSION = "3.10.1";
export const PAUSE_IMAGE = `registry.k8s.io/pause:${PAUSE_VERSION}`;
/** The Debian base built from debootstrap; images/mlflow builds FROM it. */
export const DEBIAN_BASE_IMAGE = "mlflow-k8s/debian:bookworm";
/** A tiny busybox image (busybox-static) for smoke tests: sh, sleep, httpd. */
export const BUSYBOX_IMAGE = "mlflow-k8s/busybox:1.35";
/**
 * CoreDNS, built from the Go module proxy by local/build-coredns.sh (keep the two in step):
 * the newest 1.12 there, the line Kubernetes 1.34 ships, built against client-go v0.34.
 */
export const COREDNS_VERSION = "v1.12.4";
/** The cluster DNS image: the static coredns binary alone (no registry, never pulled). */
export const COREDNS_IMAGE = `mlflow-k8s/coredns:${COREDNS_VERSION.slice(1)}`;

export interface LocalClusterSettings {
  /** Root of all cluster state (certs, configs, data, logs, pidfiles, state.json). */
  dir: string;
  /** Cache root shared by the project's tools (binaries, image tarballs). */
  cacheDir: string;
  nodeName: string;
  /** Linux bridge the CNI plugin attaches pods to; up() creates it so its address exists early. */
  bridge: string;
  /** Pod subnet on the bridge (host-local IPAM range). */
  podSubnet: string;
  /** Bridge address: the pods' gateway and the address on which pods reach the host. */
  gateway: string;
  serviceCidr: string;
  /** First address of serviceCidr: the `kubernetes` Service. */
  apiServiceIp: string;
  /** Fixed ClusterIP of the kube-dns Service (CoreDNS); the kubelet's clusterDNS. */
  dnsServiceIp: string;
  /** The kubelet's clusterDomain and CoreDNS's zone. */
  clusterDomain: string;
  apiServerPort: number;
  etcdClientPort: number;
  etcdPeerPort: number;
  kubeletPort: number;
  kubeletHealthzPort: number;
  controllerManagerPort: number;
  schedulerPort: number;
  proxyMetricsPort: number;
  proxyHealthzPort: number;
  nodePortRange: string;
}

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.MLFLOW_K8S_CACHE || join(homedir(), ".cache", "mlflow-k8s");
}

export function defaultSettings(env: NodeJS.ProcessEnv = process.env): LocalClusterSettings {
  const cacheDir = cacheRoot(env);
  return {
    dir: env.MLFLOW_K8S_LOCAL_DIR || join(cacheDir, "local-cluster"),
    cacheDir,
    nodeName: "mlflow-k8s-local",
    bridge: "mlk8s0",
    podSubnet: "10.244.0.0/24",
    gateway: "10.244.0.1",
    serviceCidr: "10.96.0.0/16",
    apiServiceIp: "10.96.0.1",
    dnsServiceIp: "10.96.0.10",
    clusterDomain: "cluster.local",
    apiServerPort: Number(env.MLFLOW_K8S_LOCAL_API_PORT || 6443),
    etcdClientPort: 12379,
    etcdPeerPort: 12380,
    kubeletPort: 10250,
    kubeletHealthzPort: 10248,
    controllerManagerPort: 10257,
    schedulerPort: 10259,
    proxyMetricsPort: 10249,
    proxyHealthzPort: 10256,
    nodePortRange: "30000-32767",
  };
}

/** Every path the cluster uses, derived from the settings. */
export function paths(s: LocalClusterSettings) {
  const d = s.dir;
  return {
    dir: d,
    state: join(d, "state.json"),
    pki: join(d, "pki"),
    kubeconfigs: join(d, "kubeconfig"),
    adminKubeconfig: join(d, "kubeconfig", "admin.conf"),
    config: join(d, "config"),
    cniConfDir: join(d, "config", "cni"),
    cniDataDir: join(d, "cni-ipam"),
    etcdData: join(d, "etcd"),
    containerdRoot: join(d, "containerd", "root"),
    containerdState: join(d, "containerd", "state"),
    containerdSock: join(d, "run", "containerd.sock"),
    kubeletRoot: join(d, "kubelet"),
    podLogs: join(d, "pod-logs"),
    run: join(d, "run"),
    logs: join(d, "logs"),
    /** The private dockerd's data root: a build cache (layers, built images), kept across down. */
    docker: join(s.cacheDir, "docker"),
    dockerSock: join(d, "run", "docker.sock"),
    images: join(s.cacheDir, "images"),
    k8sBin: join(s.cacheDir, "kubernetes", KUBERNETES_VERSION, "bin"),
    /** Built by local/build-coredns.sh. */
    corednsBin: join(s.cacheDir, "coredns", COREDNS_VERSION, "bin", "coredns"),
    toolsBin: join(s.cacheDir, "tools", "bin"),
  };
}
export type Paths = ReturnType<typeof paths>;
