/**
 * NetworkPolicy, enforced: `helm upgrade` with networkPolicy.enabled and one listed
 * namespace, then probe pods (the server image's Python, so nothing else is pulled) prove
 *   - a pod in a namespace that is not listed gets no answer on port 5000;
 *   - a pod in the listed namespace gets 200 from /health and completes a tracking flow
 *     that writes to PostgreSQL and uploads an artifact through the server to the GCS
 *     emulator, i.e. the server's egress to both still works under the policy.
 * The policy goes on with gcs.auth=workloadIdentity, as on GKE: the applied object must allow
 * egress to the metadata server (169.254.169.254:80, 169.254.169.252:988), and the bucket flow
 * above still holds under it. Enabling it rolls the server pods, so their database and bucket connections are all made
 * under the policy. The policy is turned off again afterwards, so later phases run as before. Passing needs a
 * CNI that enforces NetworkPolicy (kind's kindnet does; see packages/cluster/README.md).
 */
import { strict as assert } from "node:assert";
import { NetworkingV1Api, type V1NetworkPolicy, type V1Pod } from "@kubernetes/client-node";
import { waitFor } from "@mlflow-k8s/cluster";
import { need, type Ctx } from "../context.ts";
import { ensureNamespace, findService, runPodToCompletion, serverPods, type Kube } from "../kube.ts";
import { chartArgs, helmValuesArgs } from "./install.ts";

/** What a probe pod prints as its last line: JSON. */
interface ProbeResult {
  /** HTTP status of the last /health attempt, if any answered. */
  health?: number;
  /** The last error, if the last attempt got no answer. */
  error?: string;
  attempts: number;
  /** Attempts that got an HTTP answer. */
  answered: number;
  seconds: number;
  flow?: { experimentId: string; runId: string; artifactBytes: number };
}

/**
 * The probe: GET /health every second (a policy engine applies a new pod's or policy's rules
 * within seconds, not at once) until `until` holds or `seconds` pass:
 *   "answer"     stop at the first 200 (then, with `flow`, a write + artifact round trip);
 *   "no-answer"  stop at the first attempt that gets no answer;
 *   "never"      keep trying for the whole window (every attempt must fail).
 */
export function probeScript(base: string, until: "answer" | "no-answer" | "never", seconds: number, flow = false): string {
  return `
import json, sys, time, urllib.request, urllib.error
base, until, window = ${JSON.stringify(base)}, ${JSON.stringify(until)}, ${seconds}
out = {"attempts": 0, "answered": 0}
start = time.time()
while True:
    out["attempts"] += 1
    try:
        out["health"] = urllib.request.urlopen(base + "/health", timeout=3).status
        out["answered"] += 1
        out.pop("error", None)
    except Exception as e:
        out.pop("health", None)
        out["error"] = type(e).__name__ + ": " + str(e)
    if until == "answer" and out.get("health") == 200: break
    if until == "no-answer" and "error" in out: break
    if time.time() - start > window: break
    time.sleep(1)
out["seconds"] = round(time.time() - start, 1)
if ${flow ? "True" : "False"} and out.get("health") == 200:
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
  const { pod, logs } = await runPodToCompletion(kube, namespace, probePod(name, image, script), timeoutMs);
  const last = logs.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(last) as ProbeResult;
  } catch {
    throw new Error(`probe ${namespace}/${name} ended ${pod.status?.phase} without a result; its log:\n${logs.slice(-2000)}`);
  }
}

async function readPolicy(kube: Kube, namespace: string, release: string): Promise<V1NetworkPolicy> {
  const list = await kube.kc.makeApiClient(NetworkingV1Api).listNamespacedNetworkPolicy({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` });
  const [policy] = list.items;
  assert.ok(policy && list.items.length === 1, `expected one NetworkPolicy of release ${release} in ${namespace}, found ${list.items.length}`);
  return policy;
}

/** "cidr:port" of each egress rule towards link-local addresses (the metadata server), sorted. */
export function metadataEgress(policy: V1NetworkPolicy): string[] {
  return (policy.spec?.egress ?? [])
    .flatMap((rule) => (rule.to ?? []).map((peer) => peer.ipBlock?.cidr ?? "").filter((cidr) => cidr.startsWith("169.254.")).flatMap((cidr) => (rule.ports ?? []).map((p) => `${cidr}:${p.port}`)))
    .sort();
}

async function setNetworkPolicy(ctx: Ctx, enabled: boolean, allowed: string): Promise<void> {
  const tools = need(ctx, "tools", "cluster");
  await tools.helm([
    "upgrade", ctx.opts.release, ...chartArgs(ctx), "-n", ctx.opts.namespace, ...helmValuesArgs(ctx),
    "--set", `networkPolicy.enabled=${enabled}`, "--set", `networkPolicy.ingressNamespaces={${allowed}}`,
    // New pods start under the policy, so their first connections to PostgreSQL and the bucket are subject to it.
    "--set-string", `podAnnotations.e2e/network-policy=${enabled ? "on" : "off"}`,
    // Workload Identity, GKE's default: the policy must then let pods reach the metadata server. Against
    // the emulator google-cloud-storage goes anonymous, so the bucket stays reachable without a token.
    ...(enabled ? ["--set", "gcs.auth=workloadIdentity"] : []),
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
    const open = await runProbe(kube, denied, "probe-before", image, probeScript(base, "answer", 30), timeoutMs);
    assert.equal(open.health, 200, `without a NetworkPolicy a pod in ${denied} should reach ${base}/health, got ${JSON.stringify(open)}`);
    ctx.log(`  without a policy: ${denied} -> /health ${open.health}`);

    await setNetworkPolicy(ctx, true, allowed);
    ctx.log(`  networkPolicy.enabled=true, ingressNamespaces={${allowed}}, gcs.auth=workloadIdentity`);
    const metadata = metadataEgress(await readPolicy(kube, ns, ctx.opts.release));
    assert.deepEqual(metadata, ["169.254.169.252/32:988", "169.254.169.254/32:80"], `the applied policy's egress to the GKE metadata server (Workload Identity tokens): got ${JSON.stringify(metadata)}`);
    ctx.log(`  applied policy allows egress to the metadata server: ${metadata.join(", ")}`);
    const enforced = await runProbe(kube, denied, "probe-enforced", image, probeScript(base, "no-answer", 60), timeoutMs);
    assert.ok(enforced.error, `a pod in ${denied}, which the policy does not list, still reached MLflow after 60 s: the NetworkPolicy is not enforced (${JSON.stringify(enforced)})`);
    ctx.log(`  ${denied} (not listed): no answer after ${enforced.seconds} s (${enforced.error})`);
    const ok = await runProbe(kube, allowed, "probe-allowed", image, probeScript(base, "answer", 60, true), timeoutMs);
    assert.equal(ok.health, 200, `a pod in ${allowed}, which the policy lists, got no 200 in 60 s: ${JSON.stringify(ok)}`);
    assert.ok(ok.flow && ok.flow.artifactBytes > 0, `the tracking flow under the policy failed: ${JSON.stringify(ok)}`);
    ctx.log(`  ${allowed} (listed): /health 200 after ${ok.seconds} s; run ${ok.flow.runId} written, ${ok.flow.artifactBytes} artifact bytes through the server to the bucket and back`);
    const never = await runProbe(kube, denied, "probe-denied", image, probeScript(base, "never", 15), timeoutMs);
    assert.equal(never.answered, 0, `a pod in ${denied} got ${never.answered} answers in ${never.attempts} attempts under the policy`);
    ctx.log(`  ${denied} (not listed): ${never.attempts} attempts over ${never.seconds} s, none answered`);
  } finally {
    await setNetworkPolicy(ctx, false, allowed);
    // Leave the release as found: only the new pods, none still terminating (later phases count pods).
    await waitFor("the replaced MLflow pods to be gone", timeoutMs, async () =>
      (await serverPods(kube, ns, ctx.opts.release)).some((p) => p.metadata?.deletionTimestamp) ? undefined : true,
    );
    for (const n of [allowed, denied]) await kube.core.deleteNamespace({ name: n }).catch(() => undefined);
    ctx.log("  policy off again; probe namespaces deleted");
  }
}
