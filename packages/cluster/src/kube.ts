/**
 * Queries the e2e needs on any provider's cluster, through
 * @kubernetes/client-node and the ClusterInfo a provider returned.
 */
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Node, type V1Service } from "@kubernetes/client-node";
import type { ClusterInfo } from "./provider.ts";

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

const isReady = (node: V1Node) => node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/**
 * The address to reach a NodePort on: the provider's own answer when it has one
 * (kind publishes NodePorts on 127.0.0.1), else the first Ready node's
 * InternalIP, else its ExternalIP.
 */
export function nodeAddress(nodes: V1Node[], providerHost?: string): string {
  if (providerHost) return providerHost;
  const ready = nodes.filter(isReady);
  if (!ready.length) throw new Error(`no Ready node among ${nodes.length} node(s): ${nodes.map((n) => n.metadata?.name).join(", ") || "none"}`);
  for (const type of ["InternalIP", "ExternalIP"]) {
    for (const node of ready) {
      const address = node.status?.addresses?.find((a) => a.type === type)?.address;
      if (address) return address;
    }
  }
  throw new Error(`Ready node ${ready[0]?.metadata?.name} reports no InternalIP or ExternalIP address`);
}

/** The nodePort of the Service's port named `portName` (or its only port); without a name, its first port. */
export function serviceNodePort(service: V1Service, portName?: string): number {
  const name = `${service.metadata?.namespace}/${service.metadata?.name}`;
  if (service.spec?.type !== "NodePort" && service.spec?.type !== "LoadBalancer") {
    throw new Error(`Service ${name} is of type ${service.spec?.type}, which has no node port: install with service.type=NodePort`);
  }
  const ports = service.spec.ports ?? [];
  const port = portName ? (ports.find((p) => p.name === portName) ?? (ports.length === 1 ? ports[0] : undefined)) : ports[0];
  if (!port) throw new Error(`Service ${name} has no port named "${portName}" (ports: ${ports.map((p) => p.name).join(", ")})`);
  if (!port.nodePort) throw new Error(`Service ${name} port "${port.name ?? portName ?? ports.indexOf(port)}" has no nodePort assigned yet`);
  return port.nodePort;
}
