/** Reading the kubelet's /stats/summary: the call, and its JSON shape (pure, unit-tested). */
import { need, type Ctx } from "../../e2e/src/context.ts";

export interface StatsSummary {
  pods?: { podRef: { name: string; namespace: string }; memory?: { workingSetBytes?: number }; containers?: { name: string; memory?: { workingSetBytes?: number } }[] }[];
}

/**
 * Working-set bytes of each named pod, in the order given. A pod without a pod-level figure
 * falls back to the sum of its containers; a pod the summary does not list yet is left out.
 */
export function podMemoryBytes(summary: StatsSummary, namespace: string, names: readonly string[]): number[] {
  const out: number[] = [];
  for (const name of names) {
    const pod = summary.pods?.find((p) => p.podRef.namespace === namespace && p.podRef.name === name);
    if (!pod) continue;
    const own = pod.memory?.workingSetBytes;
    const fromContainers = (pod.containers ?? []).reduce((n, c) => n + (c.memory?.workingSetBytes ?? 0), 0);
    const bytes = own ?? (fromContainers || undefined);
    if (bytes !== undefined) out.push(bytes);
  }
  return out;
}

/** The single node's /stats/summary, through the API server's node proxy. */
export async function readStatsSummary(ctx: Ctx): Promise<StatsSummary> {
  const kube = need(ctx, "kube", "cluster");
  const [node] = (await kube.core.listNode()).items;
  const r = await need(ctx, "tools", "cluster").kubectl(["get", "--raw", `/api/v1/nodes/${node?.metadata?.name}/proxy/stats/summary`]);
  return JSON.parse(r.stdout) as StatsSummary;
}
