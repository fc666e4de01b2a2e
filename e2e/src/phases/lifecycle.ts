/**
 * `helm test`, a pod kill and teardown. After the kill, everything written
 * before is re-read (the upgrade lives in faults.ts, under load).
 */
import { need, type Ctx } from "../context.ts";
import { deleteOwnNamespace, serverPods, waitForReadyPods, type Kube } from "../kube.ts";
import type { Tools } from "../tools.ts";
import { verifyWritten } from "./rest.ts";

const podNames = async (ctx: Ctx) => (await serverPods(need(ctx, "kube", "cluster"), ctx.opts.namespace, ctx.opts.release)).map((p) => p.metadata?.name ?? "");

export async function helmTest(ctx: Ctx): Promise<void> {
  const tools = need(ctx, "tools", "cluster");
  const r = await tools.helm(["test", ctx.opts.release, "-n", ctx.opts.namespace, "--logs", "--timeout", `${ctx.opts.timeoutSeconds}s`]);
  for (const line of r.stdout.split("\n").filter((l) => /GET \/health|experiments\/search|Phase:/.test(l))) ctx.log(`  ${line.trim()}`);
}

export async function podKill(ctx: Ctx): Promise<void> {
  const kube = need(ctx, "kube", "cluster");
  const victims = await podNames(ctx);
  for (const name of victims) await kube.core.deleteNamespacedPod({ name, namespace: ctx.opts.namespace });
  ctx.log(`  deleted ${victims.join(", ")}`);
  const replacements = await waitForReadyPods(kube, { namespace: ctx.opts.namespace, release: ctx.opts.release, count: 1, exclude: victims, timeoutMs: ctx.opts.timeoutSeconds * 1000 });
  ctx.log(`  replaced by ${replacements.map((p) => p.metadata?.name).join(", ")}`);
  await verifyWritten(ctx, "after the pod was killed");
}

/**
 * Uninstall the release and delete its namespace, but only a namespace the e2e created
 * (labelled); tolerates either being gone already. Returns what happened to the namespace.
 */
export async function removeRelease(tools: Tools, kube: Kube, namespace: string, release: string): Promise<string> {
  await tools.helm(["uninstall", release, "-n", namespace, "--wait", "--ignore-not-found"]).nothrow();
  const outcome = await deleteOwnNamespace(kube, namespace).catch((e: unknown) => `not deleted (${(e as Error).message})`);
  return outcome === "not ours" ? `namespace ${namespace} kept: the e2e did not create it` : `namespace ${namespace} ${outcome}`;
}

/** Uninstall and remove the namespace; the cluster goes too unless --keep. Safe after partial runs. */
export async function teardown(ctx: Ctx): Promise<void> {
  if (ctx.tools && ctx.kube) {
    const namespace = await removeRelease(ctx.tools, ctx.kube, ctx.opts.namespace, ctx.opts.release);
    ctx.log(`  release removed; ${namespace}`);
  }
  ctx.access?.proxy?.stop();
  await ctx.db?.destroy();
  await ctx.gcs?.destroy();
  if (ctx.provider && !ctx.opts.keep) {
    await ctx.provider.down();
    ctx.log(ctx.provider.name === "existing" ? "  cluster (existing) left as it was: the e2e made none of it" : `  cluster (${ctx.provider.name}) down`);
  } else if (ctx.provider) ctx.log(`  --keep: cluster left running (kubeconfig ${ctx.cluster?.kubeconfig})`);
}
