/** Phases 1-2: check the tools, then bring up (or reuse) the cluster. */
import { kubeClients, selectProvider } from "@mlflow-k8s/cluster";
import { need, type Ctx } from "../context.ts";
import { toolsFor, toolVersion } from "../tools.ts";

const INSTALL_HINTS: Record<string, string> = {
  helm: "run scripts/bootstrap.sh (installs helm into ~/.cache/mlflow-k8s/tools/bin), or see https://helm.sh/docs/intro/install/",
  kubectl: "run scripts/bootstrap.sh (installs kubectl into ~/.cache/mlflow-k8s/tools/bin)",
};

export async function preflight(ctx: Ctx): Promise<void> {
  const missing: string[] = [];
  for (const [tool, cmd] of [["helm", ["helm", "version", "--short"]], ["kubectl", ["kubectl", "version", "--client"]]] as const) {
    const version = await toolVersion([...cmd]);
    if (version) ctx.log(`  ${tool}: ${version}`);
    else missing.push(`${tool} is missing: ${INSTALL_HINTS[tool]}`);
  }
  if (missing.length) throw new Error(missing.join("; "));
  ctx.provider = await selectProvider(ctx.opts.provider, undefined, { context: ctx.opts.context, registry: ctx.opts.registry, hostAddressForPods: ctx.opts.hostAddress, baseImage: ctx.opts.baseImage });
  ctx.log(`  provider: ${ctx.provider.name}`);
  for (const [tool, version] of Object.entries(await ctx.provider.toolVersions())) ctx.log(`  ${tool}: ${version}`);
}

export async function clusterUp(ctx: Ctx): Promise<void> {
  const provider = need(ctx, "provider", "preflight");
  ctx.cluster = await provider.up();
  ctx.tools = toolsFor(ctx.cluster);
  ctx.kube = kubeClients(ctx.cluster);
  const nodes = await ctx.kube.core.listNode();
  ctx.log(`  kubeconfig ${ctx.cluster.kubeconfig} (context ${ctx.cluster.context}), ${nodes.items.length} node(s)`);
}
