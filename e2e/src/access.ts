/**
 * How this machine reaches a release's MLflow: through the NodePort on a node address (kind
 * publishes it on 127.0.0.1), or, where node addresses are not routable from here (GKE, a
 * remote cluster), through the API server's service proxy via `kubectl proxy` on loopback:
 * `http://127.0.0.1:<p>/api/v1/namespaces/<ns>/services/<svc>:http/proxy`. The service proxy
 * goes through the Service (any Ready pod), so it survives pod rolls, unlike a port-forward,
 * which is bound to one pod. `auto` takes the NodePort when there is one and it answers, else the proxy.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { ClusterInfo } from "@mlflow-k8s/cluster";
import { assertReachable, findService, mlflowEndpoint, type Kube } from "./kube.ts";
import type { Log } from "./runner.ts";

export type AccessMode = "nodeport" | "proxy";
export const ACCESS_MODES = ["auto", "nodeport", "proxy"] as const;

/** A `kubectl proxy` on 127.0.0.1 (an ephemeral port), authenticated with the cluster's kubeconfig. */
export class KubectlProxy {
  private readonly child: ChildProcess;
  readonly port: number;

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
  }

  static async start(cluster: ClusterInfo, timeoutMs = 30_000): Promise<KubectlProxy> {
    const child = spawn("kubectl", ["--context", cluster.context, "proxy", "--address=127.0.0.1", "--port=0"], {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfig },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`kubectl proxy printed no address within ${timeoutMs} ms: ${output.trim()}`)), timeoutMs);
      const done = (error: Error | undefined, value?: number) => {
        clearTimeout(timer);
        if (error) {
          child.kill("SIGTERM");
          reject(error);
        } else resolve(value ?? 0);
      };
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        const m = /Starting to serve on 127\.0\.0\.1:(\d+)/.exec(output);
        if (m) done(undefined, Number(m[1]));
      };
      child.stdout?.on("data", read);
      child.stderr?.on("data", read);
      child.once("error", (e) => done(new Error(`kubectl proxy did not start: ${e.message}`)));
      child.once("exit", (code) => done(new Error(`kubectl proxy exited (${code}) before serving: ${output.trim()}`)));
    });
    return new KubectlProxy(child, port);
  }

  /** Base URL of MLflow behind the Service's `http` port. */
  serviceUrl(namespace: string, service: string): string {
    return `http://127.0.0.1:${this.port}/api/v1/namespaces/${namespace}/services/${service}:http/proxy`;
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
  }
}

/** Where the e2e reaches its releases: decided once (by `discover`), used for every release. */
export interface Access {
  mode: AccessMode;
  proxy?: KubectlProxy;
}

/**
 * Picks the access mode. `auto`: the NodePort when a TCP connection opens within 10 s, else
 * the proxy, saying why. An explicit `nodeport` fails here when the NodePort does not answer.
 */
export async function chooseAccess(kube: Kube, cluster: ClusterInfo, wanted: AccessMode | "auto", target: { namespace: string; release: string }, log: Log): Promise<Access> {
  if (wanted !== "proxy") {
    try {
      const endpoint = await mlflowEndpoint(kube, { ...target, providerHost: cluster.nodePortHost });
      await assertReachable(endpoint.host, endpoint.port);
      return { mode: "nodeport" };
    } catch (e) {
      // auto: no Ready node, no node port (a ClusterIP Service), or a NodePort this machine cannot reach.
      if (wanted === "nodeport") throw e;
      log(`  ${(e as Error).message.split(": ")[0]}: reaching MLflow through the API server's service proxy instead`);
    }
  }
  return { mode: "proxy", proxy: await KubectlProxy.start(cluster) };
}

/** The base URL of a release's MLflow under the chosen access. */
export async function releaseUrl(kube: Kube, cluster: ClusterInfo, access: Access, target: { namespace: string; release: string }): Promise<string> {
  if (access.proxy) return access.proxy.serviceUrl(target.namespace, (await findService(kube, target.namespace, target.release)).metadata?.name ?? "");
  return (await mlflowEndpoint(kube, { ...target, providerHost: cluster.nodePortHost })).url;
}
