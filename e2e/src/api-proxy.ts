/**
 * HTTP to a pod or a Service through the Kubernetes API server's proxy
 * (`/api/v1/namespaces/<ns>/{pods|services}/<name>:<port>/proxy/<path>`), with no retry.
 *
 * Why the API proxy: the e2e must reach every server pod on its own, and in-cluster test
 * services (PostgreSQL, the GCS emulator) when it runs them there; pod IPs and port-forwards
 * are not reachable from the host on every provider (kind, minikube's VM drivers, a remote
 * cluster), while the API server is, everywhere the e2e runs. `kubectl exec` would start a
 * process in the pod per request (the image has no curl), which is far heavier than the
 * request being measured. A fresh TLS connection per request, so no pooled socket hides a failure.
 */
import { request, type RequestOptions } from "node:https";
import type { Kube } from "./kube.ts";

export interface ProxyTarget {
  kind: "pods" | "services";
  namespace: string;
  name: string;
  port: number;
}

export interface ProxyResponse {
  status: number;
  body: Buffer;
  text: string;
}

export async function apiProxyRequest(kube: Kube, target: ProxyTarget, path: string, opts: { method?: string; json?: unknown; timeoutMs?: number } = {}): Promise<ProxyResponse> {
  const server = kube.kc.getCurrentCluster()?.server;
  if (!server) throw new Error("the kubeconfig has no current cluster");
  const url = new URL(`${server.replace(/\/$/, "")}/api/v1/namespaces/${target.namespace}/${target.kind}/${target.name}:${target.port}/proxy${path}`);
  const timeoutMs = opts.timeoutMs ?? 5000;
  const body = opts.json === undefined ? undefined : JSON.stringify(opts.json);
  const options: RequestOptions = { method: opts.method ?? "GET", agent: false, timeout: timeoutMs, headers: body ? { "content-type": "application/json" } : {} };
  await kube.kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const all = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, body: all, text: all.toString("utf8") });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** One GET to one pod; the body as text. */
export async function podGet(kube: Kube, pod: { namespace: string; name: string; port: number }, path: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  const r = await apiProxyRequest(kube, { kind: "pods", ...pod }, path, { timeoutMs });
  return { status: r.status, body: r.text };
}
