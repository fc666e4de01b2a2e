/**
 * What the e2e asks of the Kubernetes API, through @kubernetes/client-node.
 * The pure functions (node address, nodePort) are unit-tested on plain objects.
 */
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Node, type V1Pod, type V1Service } from "@kubernetes/client-node";
import { waitFor } from "@mlflow-k8s/cluster";

export interface Kube {
  core: CoreV1Api;
  apps: AppsV1Api;
}

export function connect(kubeconfig: string, context: string): Kube {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext(context);
  return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

const isReady = (node: V1Node) => node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/**
 * The address to reach a NodePort on: the provider's own answer when it has one
 * (the local provider serves NodePorts on 127.0.0.1), else the first Ready node's
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

/** The nodePort of the Service's port named `portName`. */
export function nodePortOf(service: V1Service, portName = "http"): number {
  const name = `${service.metadata?.namespace}/${service.metadata?.name}`;
  if (service.spec?.type !== "NodePort" && service.spec?.type !== "LoadBalancer") {
    throw new Error(`Service ${name} is of type ${service.spec?.type}, which has no node port: install with service.type=NodePort`);
  }
  const port = service.spec.ports?.find((p) => p.name === portName) ?? (service.spec.ports?.length === 1 ? service.spec.ports[0] : undefined);
  if (!port) throw new Error(`Service ${name} has no port named "${portName}" (ports: ${service.spec.ports?.map((p) => p.name).join(", ")})`);
  if (!port.nodePort) throw new Error(`Service ${name} port "${portName}" has no nodePort assigned yet`);
  return port.nodePort;
}

/** The release's MLflow Service, found by its labels (its name depends on the release name). */
export async function findService(kube: Kube, namespace: string, release: string): Promise<V1Service> {
  const list = await kube.core.listNamespacedService({ namespace, labelSelector: `app.kubernetes.io/instance=${release},app.kubernetes.io/name=mlflow` });
  const [service, ...others] = list.items;
  if (!service || others.length) throw new Error(`expected one MLflow Service of release ${release} in ${namespace}, found ${list.items.length}`);
  return service;
}

export async function mlflowEndpoint(kube: Kube, opts: { namespace: string; release: string; providerHost?: string | undefined }): Promise<{ host: string; port: number; url: string }> {
  const [nodes, service] = await Promise.all([kube.core.listNode(), findService(kube, opts.namespace, opts.release)]);
  const host = nodeAddress(nodes.items, opts.providerHost);
  const port = nodePortOf(service);
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return { host, port, url: `http://${hostPart}:${port}` };
}

export async function ensureNamespace(kube: Kube, name: string, labels: Record<string, string> = {}): Promise<void> {
  try {
    await kube.core.readNamespace({ name });
  } catch {
    await kube.core.createNamespace({ body: { metadata: { name, labels: { "app.kubernetes.io/managed-by": "mlflow-k8s-e2e", ...labels } } } });
  }
}

/** Create or replace an Opaque Secret. The value only travels in the API request body. */
export async function applySecret(kube: Kube, namespace: string, name: string, data: Record<string, string>): Promise<void> {
  const body = { metadata: { name, namespace }, type: "Opaque", stringData: data };
  try {
    await kube.core.replaceNamespacedSecret({ name, namespace, body });
  } catch {
    await kube.core.createNamespacedSecret({ namespace, body });
  }
}

export async function serverPods(kube: Kube, namespace: string, release: string): Promise<V1Pod[]> {
  const list = await kube.core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${release},app.kubernetes.io/name=mlflow,app.kubernetes.io/component=server` });
  return list.items;
}

const podReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** Wait until `count` server pods are Ready and none of them is in `exclude` (replaced pods). */
export async function waitForReadyPods(kube: Kube, opts: { namespace: string; release: string; count: number; exclude?: string[]; timeoutMs: number }): Promise<V1Pod[]> {
  return waitFor(`${opts.count} Ready MLflow pod(s)${opts.exclude?.length ? ` other than ${opts.exclude.join(", ")}` : ""}`, opts.timeoutMs, async () => {
    const pods = (await serverPods(kube, opts.namespace, opts.release)).filter((p) => !p.metadata?.deletionTimestamp && !opts.exclude?.includes(p.metadata?.name ?? ""));
    const ready = pods.filter(podReady);
    return ready.length >= opts.count ? ready : undefined;
  }, 1000);
}
