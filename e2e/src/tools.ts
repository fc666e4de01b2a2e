/**
 * helm and kubectl bound to the cluster under test (its kubeconfig and context),
 * via zx. Values and secrets never go on these command lines: values travel in
 * files, the DB password only in a Secret created through the API.
 */
import { $, type ProcessPromise } from "zx";
import type { ClusterInfo } from "@mlflow-k8s/cluster";

export interface Tools {
  helm: (args: string[]) => ProcessPromise;
  /** `input` goes to kubectl's stdin (manifests, SQL for `kubectl exec -i`): never on its command line. */
  kubectl: (args: string[], input?: string) => ProcessPromise;
}

export function toolsFor(cluster: ClusterInfo): Tools {
  const env = { ...process.env, KUBECONFIG: cluster.kubeconfig };
  const sh = $({ env, quiet: true });
  return {
    helm: (args) => sh`helm --kube-context ${cluster.context} ${args}`,
    kubectl: (args, input) => (input === undefined ? sh : $({ env, quiet: true, input }))`kubectl --context ${cluster.context} ${args}`,
  };
}

/** `name --version`-style probe for the preflight; undefined when the tool is missing. */
export async function toolVersion(cmd: string[]): Promise<string | undefined> {
  const r = await $({ quiet: true, nothrow: true })`${cmd}`;
  return r.exitCode === 0 ? r.stdout.trim().split("\n")[0] : undefined;
}
