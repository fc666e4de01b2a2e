/**
 * Small waits and queries the e2e needs on any provider's cluster, through
 * @kubernetes/client-node and the ClusterInfo a provider returned.
 */
import { AppsV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import type { ClusterInfo } from "./provider.ts";
import { waitFor } from "./log.ts";

export function kubeConfigFor(info: ClusterInfo): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  kc.setCurrentContext(info.context);
  return kc;
}

export interface Kube {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
}

export function kubeClients(info: ClusterInfo): Kube {
  const kc = kubeConfigFor(info);
  return { kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

/** Where NodePorts answer from this machine: the provider's word, else the first node's InternalIP. */
export async function nodePortAddress(info: ClusterInfo, k: Kube = kubeClients(info)): Promise<string> {
  if (info.nodePortHost) return info.nodePortHost;
  const nodes = await k.core.listNode();
  for (const n of nodes.items) {
    const ip = n.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    if (ip) return ip;
  }
  throw new Error("no node reports an InternalIP address");
}

/** The nodePort of a Service port (by name, or the first port). */
export async function nodePortOf(k: Kube, namespace: string, service: string, portName?: string): Promise<number> {
  const svc = await k.core.readNamespacedService({ name: service, namespace });
  const ports = svc.spec?.ports ?? [];
  const port = portName ? ports.find((p) => p.name === portName) : ports[0];
  if (!port?.nodePort) throw new Error(`service ${namespace}/${service} has no nodePort${portName ? ` named ${portName}` : ""} (type ${svc.spec?.type})`);
  return port.nodePort;
}

export async function waitForNodesReady(k: Kube, timeoutMs = 120_000): Promise<void> {
  await waitFor("every node Ready", timeoutMs, async () => {
    const nodes = await k.core.listNode();
    return (nodes.items.length > 0 && nodes.items.every((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))) || undefined;
  });
}

/** Waits until the Deployment's current generation is fully rolled out and available. */
export async function waitForDeploymentAvailable(k: Kube, namespace: string, name: string, timeoutMs = 300_000): Promise<void> {
  await waitFor(`deployment ${namespace}/${name} available`, timeoutMs, async () => {
    const d = await k.apps.readNamespacedDeployment({ name, namespace });
    const want = d.spec?.replicas ?? 1;
    const st = d.status ?? {};
    return (
      ((st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
        (st.updatedReplicas ?? 0) === want &&
        (st.availableReplicas ?? 0) === want &&
        (st.replicas ?? 0) === want) ||
      undefined
    );
  }, 1000);
}

/** Waits until at least `min` pods match and all of them are Ready. */
export async function waitForPodsReady(k: Kube, namespace: string, labelSelector: string, timeoutMs = 300_000, min = 1): Promise<void> {
  await waitFor(`pods ${labelSelector} in ${namespace} Ready`, timeoutMs, async () => {
    const pods = await k.core.listNamespacedPod({ namespace, labelSelector });
    const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp);
    return (live.length >= min && live.every((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))) || undefined;
  }, 1000);
}
