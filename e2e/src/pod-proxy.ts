/**
 * One HTTP GET to one pod through the Kubernetes API server's pod proxy
 * (`/api/v1/namespaces/<ns>/pods/<pod>:<port>/proxy/<path>`), with no retry.
 *
 * Why the API proxy: the e2e must reach every server pod on its own, and pod IPs and
 * port-forwards are not reachable from the host on every provider (kind, minikube's
 * VM drivers, a remote cluster), while the API server is, everywhere the e2e runs.
 * `kubectl exec` would start a process in the pod per request (the image has no curl),
 * which is far heavier than the request being measured. A fresh TLS connection per
 * request, so no pooled socket hides a failure.
 */
import { request, type RequestOptions } from "node:https";
import type { Kube } from "./kube.ts";

export interface PodResponse {
  status: number;
  body: string;
}

export async function podGet(kube: Kube, pod: { namespace: string; name: string; port: number }, path: string, timeoutMs = 5000): Promise<PodResponse> {
  const server = kube.kc.getCurrentCluster()?.server;
  if (!server) throw new Error("the kubeconfig has no current cluster");
  const url = new URL(`${server.replace(/\/$/, "")}/api/v1/namespaces/${pod.namespace}/pods/${pod.name}:${pod.port}/proxy${path}`);
  const options: RequestOptions = { method: "GET", agent: false, timeout: timeoutMs, headers: {} };
  await kube.kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}
