/**
 * NetworkPolicy, enforced: `helm upgrade` with networkPolicy.enabled and one listed
 * namespace, then probe pods (the server image's Python, so nothing else is pulled) prove
 *   - a pod in a namespace that is not listed gets no answer on port 5000;
 *   - a pod in the listed namespace gets 200 from /health and completes a tracking flow
 *     that writes to PostgreSQL and uploads an artifact through the server to the GCS
 *     emulator, i.e. the server's egress to both still works under the policy.
 * Enabling it rolls the server pods, so their database and bucket connections are all made
 * under the policy. The policy is turned off again afterwards, so later phases run as before. Passing needs a
 * CNI that enforces NetworkPolicy (kind's kindnet does; see packages/cluster/README.md).
 */
import { strict as assert } from "node:assert";
import type { V1Pod } from "@kubernetes/client-node";
import { waitFor } from "@mlflow-k8s/cluster";
import { need, type Ctx } from "../context.ts";
import { ensureNamespace, findService, type Kube } from "../kube.ts";
import { chartArgs, helmValuesArgs } from "./install.ts";

/** What a probe pod prints as its last line: JSON. */
interface ProbeResult {
  health?: number;
  error?: string;
  flow?: { experimentId: string; runId: string; artifactBytes: number };
}

/** The probe: GET /health with a short timeout; with `flow`, a write + artifact round trip. */
export function probeScript(base: string, flow: boolean): string {
  return `
import json, sys, time, urllib.request, urllib.error
base = ${JSON.stringify(base)}
out = {}
try:
    out["health"] = urllib.request.urlopen(base + "/health", timeout=8).status
except Exception as e:
    out["error"] = type(e).__name__ + ": " + str(e)
if ${flow ? "True" : "False"} and "health" in out:
    def call(path, body):
        req = urllib.request.Request(base + "/api/2.0/mlflow/" + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(req, timeout=20))
    exp = call("experiments/create", {"name": "netpol-%d" % int(time.time() * 1000)})["experiment_id"]
    run = call("runs/create", {"experiment_id": exp, "start_time": int(time.time() * 1000)})["run"]["info"]
    call("runs/log-metric", {"run_id": run["run_id"], "key": "m", "value": 1.0, "timestamp": int(time.time() * 1000), "step": 0})
    body = b"artifact written under a NetworkPolicy\\n"
    url = base + "/api/2.0/mlflow-artifacts/artifacts/" + exp + "/" + run["run_id"] + "/artifacts/netpol.txt"
    urllib.request.urlopen(urllib.request.Request(url, data=body, method="PUT"), timeout=20)
    got = urllib.request.urlopen(url, timeout=20).read()
    assert got == body, "artifact read back differs"
    out["flow"] = {"experimentId": exp, "runId": run["run_id"], "artifactBytes": len(got)}
print(json.dumps(out))
`;
}

function probePod(name: string, image: string, script: string): V1Pod {
  return {
    metadata: { name, labels: { "app.kubernetes.io/managed-by": "mlflow-k8s-e2e", "app.kubernetes.io/component": "netpol-probe" } },
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "probe",
          image,
          imagePullPolicy: "IfNotPresent",
          command: ["python3", "-c", script],
          env: [{ name: "HOME", value: "/tmp" }],
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  };
}

/** Runs a probe pod to completion and returns what it printed. */
async function runProbe(kube: Kube, namespace: string, name: string, image: string, script: string, timeoutMs: number): Promise<ProbeResult> {
  await kube.core.deleteNamespacedPod({ name, namespace }).catch(() => undefined);
  await waitFor(`old probe ${namespace}/${name} to go`, 60_000, async () => kube.core.readNamespacedPod({ name, namespace }).then(() => undefined, () => true));
  await kube.core.createNamespacedPod({ namespace, body: probePod(name, image, script) });
  const pod = await waitFor(`probe ${namespace}/${name} to finish`, timeoutMs, async () => {
    const p = await kube.core.readNamespacedPod({ name, namespace });
    return p.status?.phase === "Succeeded" || p.status?.phase === "Failed" ? p : undefined;
  }, 1000);
  const logs = String(await kube.core.readNamespacedPodLog({ name, namespace }));
  const last = logs.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(last) as ProbeResult;
  } catch {
    throw new Error(`probe ${namespace}/${name} ended ${pod.status?.phase} without a result; its log:\n${logs.slice(-2000)}`);
  }
}

async function setNetworkPolicy(ctx: Ctx, enabled: boolean, allowed: string): Promise<void> {
  const tools = need(ctx, "tools", "cluster");
  await tools.helm([
    "upgrade", ctx.opts.release, ...chartArgs(ctx), "-n", ctx.opts.namespace, ...helmValuesArgs(ctx),
    "--set", `networkPolicy.enabled=${enabled}`, "--set", `networkPolicy.ingressNamespaces={${allowed}}`,
    // New pods start under the policy, so their first connections to PostgreSQL and the bucket are subject to it.
    "--set-string", `podAnnotations.e2e/network-policy=${enabled ? "on" : "off"}`,
    "--wait", "--timeout", `${ctx.opts.timeoutSeconds}s`,
  ]);
}

export async function networkPolicy(ctx: Ctx): Promise<void> {
  const kube = need(ctx, "kube", "cluster");
  const image = need(ctx, "image", "image");
  const ns = ctx.opts.namespace;
  const allowed = `${ns}-np-allowed`;
  const denied = `${ns}-np-denied`;
  const service = await findService(kube, ns, ctx.opts.release);
  const base = `http://${service.metadata?.name}.${ns}.svc:5000`;
  await ensureNamespace(kube, allowed);
  await ensureNamespace(kube, denied);
  const timeoutMs = ctx.opts.timeoutSeconds * 1000;
  try {
    // Before the policy: the denied namespace does reach the server (so a refusal later is the policy's doing).
    const open = await runProbe(kube, denied, "probe-before", image, probeScript(base, false), timeoutMs);
    assert.equal(open.health, 200, `without a NetworkPolicy a pod in ${denied} should reach ${base}/health, got ${JSON.stringify(open)}`);
    ctx.log(`  without a policy: ${denied} -> /health ${open.health}`);

    await setNetworkPolicy(ctx, true, allowed);
    ctx.log(`  networkPolicy.enabled=true, ingressNamespaces={${allowed}}`);
    const refused = await runProbe(kube, denied, "probe-denied", image, probeScript(base, false), timeoutMs);
    ctx.log(`  ${denied} (not listed) -> ${refused.health ? `/health ${refused.health}` : `no answer (${refused.error})`}`);
    assert.equal(refused.health, undefined, `a pod in ${denied}, which the policy does not list, reached MLflow: the NetworkPolicy is not enforced`);
    const ok = await runProbe(kube, allowed, "probe-allowed", image, probeScript(base, true), timeoutMs);
    ctx.log(`  ${allowed} (listed) -> /health ${ok.health}; run ${ok.flow?.runId} written, ${ok.flow?.artifactBytes} artifact bytes through the server to the bucket and back`);
    assert.equal(ok.health, 200, `a pod in ${allowed}, which the policy lists, got ${JSON.stringify(ok)}`);
    assert.ok(ok.flow && ok.flow.artifactBytes > 0, `the tracking flow under the policy failed: ${JSON.stringify(ok)}`);
  } finally {
    await setNetworkPolicy(ctx, false, allowed);
    for (const n of [allowed, denied]) await kube.core.deleteNamespace({ name: n }).catch(() => undefined);
    ctx.log("  policy off again; probe namespaces deleted");
  }
}
