/**
 * What the e2e asks of the Kubernetes API beyond packages/cluster's queries:
 * the release's Service and endpoint, its namespace and Secret, its server pods.
 */
import { connect } from "node:net";
import type { V1Namespace, V1Pod, V1Service } from "@kubernetes/client-node";
import { nodeAddress, serviceNodePort, waitFor, type Kube } from "@mlflow-k8s/cluster";

export type { Kube };

/** The release's MLflow Service, found by its labels (its name depends on the release name). */
export async function findService(kube: Kube, namespace: string, release: string): Promise<V1Service> {
  const list = await kube.core.listNamespacedService({ namespace, labelSelector: `app.kubernetes.io/instance=${release},app.kubernetes.io/name=mlflow` });
  const [service, ...others] = list.items;
  if (!service || others.length) throw new Error(`expected one MLflow Service of release ${release} in ${namespace}, found ${list.items.length}`);
  return service;
}

export async function mlflowEndpoint(kube: Kube, opts: { namespace: string; release: string; providerHost?: string | undefined }): Promise<{ host: string; port: number; url: string }> {
  return nodePortEndpoint(kube, await findService(kube, opts.namespace, opts.release), opts.providerHost);
}

/** A Service's `http` NodePort on a node's address (or providerHost, where the provider publishes the NodePorts). */
export async function nodePortEndpoint(kube: Kube, service: V1Service, providerHost?: string): Promise<{ host: string; port: number; url: string }> {
  const host = nodeAddress((await kube.core.listNode()).items, providerHost);
  const port = serviceNodePort(service, "http");
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return { host, port, url: `http://${hostPart}:${port}` };
}

/**
 * Resolves when a TCP connection to host:port opens within timeoutMs; otherwise rejects
 * saying what to do: on a cluster the e2e did not make (GKE), node addresses are often not
 * reachable from the machine running it.
 */
export async function assertReachable(host: string, port: number, timeoutMs = 10_000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const fail = (why: string) => {
      socket.destroy();
      reject(new Error(`the NodePort ${host}:${port} is not reachable from this machine (${why}): run the e2e where node addresses are routable (inside the cluster's network), or open the NodePort range to this machine, or reach MLflow through the API server (--access proxy)`));
    };
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("timeout", () => fail(`no connection within ${timeoutMs} ms`));
    socket.once("error", (e) => fail(e.message));
  });
}

/** The label on every namespace the e2e creates: the only namespaces it ever deletes. */
export const E2E_NAMESPACE_LABEL = { key: "app.kubernetes.io/managed-by", value: "mlflow-k8s-e2e" } as const;

const createdByE2e = (ns: V1Namespace) => ns.metadata?.labels?.[E2E_NAMESPACE_LABEL.key] === E2E_NAMESPACE_LABEL.value;

/** Not found is the one read error that means "create it"; anything else (RBAC, network) is passed on. */
const isNotFound = (e: unknown) => (e as { code?: number }).code === 404;

/**
 * Create the namespace, labelled as the e2e's. One that exists is reused only when it
 * carries that label (a previous run's); anyone else's is refused, since teardown
 * would uninstall the release from it.
 */
export async function ensureNamespace(kube: Kube, name: string, labels: Record<string, string> = {}): Promise<void> {
  let existing: V1Namespace | undefined;
  try {
    existing = await kube.core.readNamespace({ name });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (existing?.metadata?.deletionTimestamp && createdByE2e(existing)) {
    // A previous run's namespace still terminating: nothing can be created in it until it is gone.
    await waitFor(`namespace ${name} (being deleted) to be gone`, 300_000, async () => kube.core.readNamespace({ name }).then(() => undefined, (e: unknown) => (isNotFound(e) ? true : Promise.reject(e))), 1000);
    existing = undefined;
  }
  if (existing && !createdByE2e(existing)) {
    throw new Error(
      `namespace ${name} exists and was not created by the e2e (no label ${E2E_NAMESPACE_LABEL.key}=${E2E_NAMESPACE_LABEL.value}): pass another --namespace`,
    );
  }
  if (!existing) await kube.core.createNamespace({ body: { metadata: { name, labels: { [E2E_NAMESPACE_LABEL.key]: E2E_NAMESPACE_LABEL.value, ...labels } } } });
}

/** Delete the namespace only if the e2e created it (its label); returns whether it did. Gone already counts as nothing to do. */
export async function deleteOwnNamespace(kube: Kube, name: string): Promise<"deleted" | "not ours" | "absent"> {
  let ns: V1Namespace;
  try {
    ns = await kube.core.readNamespace({ name });
  } catch (e) {
    if (isNotFound(e)) return "absent";
    throw e;
  }
  if (!createdByE2e(ns)) return "not ours";
  await kube.core.deleteNamespace({ name });
  return "deleted";
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

/** The label selector of a release's MLflow server pods. */
export const serverSelector = (release: string) => `app.kubernetes.io/instance=${release},app.kubernetes.io/name=mlflow,app.kubernetes.io/component=server`;

export async function serverPods(kube: Kube, namespace: string, release: string): Promise<V1Pod[]> {
  const list = await kube.core.listNamespacedPod({ namespace, labelSelector: serverSelector(release) });
  return list.items;
}

const podReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** Wait until the selector matches exactly `count` pods, all Ready and none terminating (a rollout settled); returns them. */
export async function waitForExactlyReady(kube: Kube, opts: { namespace: string; labelSelector: string; count: number; timeoutMs: number }): Promise<V1Pod[]> {
  return waitFor(`${opts.count} Ready pod(s) (${opts.labelSelector}) and none terminating`, opts.timeoutMs, async () => {
    const pods = (await kube.core.listNamespacedPod({ namespace: opts.namespace, labelSelector: opts.labelSelector })).items;
    const ready = pods.filter((p) => !p.metadata?.deletionTimestamp && podReady(p));
    return pods.length === opts.count && ready.length === opts.count ? ready : undefined;
  }, 1000);
}

/** Wait until `count` server pods are Ready and none of them is in `exclude` (replaced pods). */
export async function waitForReadyPods(kube: Kube, opts: { namespace: string; release: string; count: number; exclude?: string[]; timeoutMs: number }): Promise<V1Pod[]> {
  return waitFor(`${opts.count} Ready MLflow pod(s)${opts.exclude?.length ? ` other than ${opts.exclude.join(", ")}` : ""}`, opts.timeoutMs, async () => {
    const pods = (await serverPods(kube, opts.namespace, opts.release)).filter((p) => !p.metadata?.deletionTimestamp && !opts.exclude?.includes(p.metadata?.name ?? ""));
    const ready = pods.filter(podReady);
    return ready.length >= opts.count ? ready : undefined;
  }, 1000);
}

/** Creates `pod` (replacing one of that name), waits until it Succeeded or Failed, and returns it with its log. */
export async function runPodToCompletion(kube: Kube, namespace: string, pod: V1Pod, timeoutMs: number): Promise<{ pod: V1Pod; logs: string }> {
  const name = pod.metadata?.name ?? "";
  await kube.core.deleteNamespacedPod({ name, namespace }).catch(() => undefined);
  await waitFor(`old pod ${namespace}/${name} to go`, 60_000, async () => kube.core.readNamespacedPod({ name, namespace }).then(() => undefined, () => true));
  await kube.core.createNamespacedPod({ namespace, body: pod });
  const done = await waitFor(`pod ${namespace}/${name} to finish`, timeoutMs, async () => {
    const p = await kube.core.readNamespacedPod({ name, namespace });
    return p.status?.phase === "Succeeded" || p.status?.phase === "Failed" ? p : undefined;
  }, 1000);
  return { pod: done, logs: String(await kube.core.readNamespacedPodLog({ name, namespace })) };
}
