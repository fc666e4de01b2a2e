/**
 * The kind section, measured side by side in one run on this machine:
 *   - the node image built here: cold (every layer and component image of ours removed first;
 *     the Kubernetes binaries stay, their cold build is the `build` section's table) and warm
 *     (nothing to build: the input digest matches);
 *   - `kind create cluster` to a Ready node (kind's --wait), plus registry and wiring, and
 *     `down`, each twice;
 *   - the whole e2e on kind, with its phases.
 * The figure "first REST call after helm install with the image pulled cold from the
 * registry" is the install section's cold row, run with MLFLOW_K8S_PROVIDER=kind.
 * Runs as a child of main.ts under the cluster lock (root: it may start the project dockerd).
 * Usage: node bench/src/kind.ts --out file.json
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { COREDNS_VERSION, KindProvider, KUBERNETES_VERSION, docker$ } from "@mlflow-k8s/cluster";
import { defaultParts, ensureNodeImage, NODE_IMAGE_REPOSITORY } from "../../packages/cluster/src/kind/nodeimage.ts";
import { archivePath } from "../../packages/cluster/src/offline-images.ts";
import { machineInfo } from "./machine.ts";
import type { KindData, Section } from "./results.ts";
import { LOG_DIR, timed } from "./tiers.ts";

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const seconds = (t0: number) => (performance.now() - t0) / 1000;

export async function e2eRun(provider: "kind" | "minikube"): Promise<KindData["e2e"][number]> {
  const report = join(LOG_DIR, `e2e-${provider}-report.json`);
  rmSync(report, { force: true });
  log(`e2e on ${provider} (log bench/.results/e2e-${provider}.log)`);
  const r = await timed(process.execPath, ["e2e/src/main.ts", "--provider", provider, "--report", report], `e2e-${provider}.log`);
  const phases = existsSync(report) ? (JSON.parse(readFileSync(report, "utf8")) as { phases: { name: string; status: string; seconds: number }[] }).phases : [];
  log(`  ${r.seconds.toFixed(1)} s, exit ${r.exitCode}`);
  return { provider, seconds: r.seconds, exitCode: r.exitCode, phases: phases.map(({ name, status, seconds: s }) => ({ name, status, seconds: s })) };
}

/**
 * The figures kind and minikube share: the image built here cold (the caller removed ours
 * first) then warm, its size, and up/down twice.
 */
export async function measureImageAndCycles(
  name: string,
  what: string,
  build: () => Promise<{ ref: string; cached: boolean }>,
  provider: { up(): Promise<unknown>; down(): Promise<void> },
  data: KindData,
  notes: string[],
  docker: (args: string[]) => Promise<{ stdout: string }>,
): Promise<void> {
  let t0 = performance.now();
  const cold = await build();
  data.nodeImage.coldSeconds = seconds(t0);
  data.nodeImage.ref = cold.ref;
  t0 = performance.now();
  const warm = await build();
  data.nodeImage.warmSeconds = seconds(t0);
  if (!warm.cached) notes.push(`The warm ${what} run rebuilt the image: its inputs changed between the two runs.`);
  const size = Number((await docker(["image", "inspect", "--format", "{{.Size}}", cold.ref])).stdout.trim());
  if (Number.isFinite(size)) data.nodeImage.bytes = size;
  log(`  ${what}: cold ${data.nodeImage.coldSeconds.toFixed(1)} s, warm ${data.nodeImage.warmSeconds.toFixed(1)} s`);
  for (let i = 0; i < 2; i++) {
    t0 = performance.now();
    await provider.up();
    data.up.push(seconds(t0));
    t0 = performance.now();
    await provider.down();
    data.down.push(seconds(t0));
    log(`  ${name} up ${data.up.at(-1)?.toFixed(1)} s, down ${data.down.at(-1)?.toFixed(1)} s`);
  }
}

export async function kindSection(): Promise<Section<KindData>> {
  const provider = new KindProvider({ log, nodeImage: "build" });
  return providerSection("kind", provider, async (data, notes) => {
    const target = await provider.engine.ensure();
    const docker = (args: string[]) => docker$(target, { nothrow: true })`${target.bin} ${args}`;
    const base = await provider.engine.debianBase();
    const parts = defaultParts();
    const full = { ...parts, coredns: join(parts.corednsDir, COREDNS_VERSION, "bin", "coredns") };

    // Cold: remove our node images, their base layers and the component images we build.
    const ours = (await docker(["images", "--format", "{{.Repository}}:{{.Tag}}"])).stdout
      .split("\n")
      .filter((r) => r.startsWith(`${NODE_IMAGE_REPOSITORY}:`) || r.startsWith("mlflow-k8s/kind-base:") || r.includes("/kube-proxy:") || r.includes("mlflow-k8s/kube-router:"));
    if (ours.length) await docker(["rmi", "-f", ...ours]);
    await docker(["image", "prune", "-f"]);
    for (const repo of ["registry.k8s.io/kube-apiserver", "registry.k8s.io/kube-controller-manager", "registry.k8s.io/kube-scheduler", "registry.k8s.io/kube-proxy", "registry.k8s.io/etcd", "registry.k8s.io/coredns/coredns", "registry.k8s.io/pause", "docker.io/mlflow-k8s/kube-router"]) {
      // Archives are named after the reference (see archivePath): remove every tag of that repository.
      const prefix = basename(archivePath(parts.imagesDir, `${repo}:`)).replace(/\.tar$/, "");
      for (const name of existsSync(parts.imagesDir) ? readdirSync(parts.imagesDir) : []) if (name.startsWith(prefix)) rmSync(join(parts.imagesDir, name), { force: true });
    }
    await measureImageAndCycles("kind", "node image", () => ensureNodeImage(target, base, full, log), provider, data, notes, docker);
  }, [
    "Node image cold: the Kubernetes binaries, CoreDNS and kube-router are already built (their cold builds are in the `build` section); removed first were our node and base images, the component images and their cached archives, and dangling layers. The Debian debootstrap base stays.",
    "`up`: the project's dockerd running, node image cached; `kind create cluster --wait 300s` (node Ready), the registry container, hosts.toml and the local-registry-hosting ConfigMap. `down`: kind delete, registry removed, dockerd stopped.",
    "e2e: `node e2e/src/main.ts --provider kind`; the MLflow images may be rebuilt (the cold node-image step prunes dangling layers), see the e2e's image phases.",
  ]);
}

/** One provider's section: its measurements, then the whole e2e on it; the provider is down before and after. */
export async function providerSection(
  name: "kind" | "minikube",
  provider: { down(): Promise<void> },
  measure: (data: KindData, notes: string[]) => Promise<void>,
  fixedNotes: string[],
): Promise<Section<KindData>> {
  const started = performance.now();
  const data: KindData = { kubernetesVersion: KUBERNETES_VERSION, nodeImage: {}, up: [], down: [], e2e: [] };
  const notes: string[] = [];
  let error: string | undefined;
  try {
    await provider.down();
    await measure(data, notes);
    data.e2e.push(await e2eRun(name));
  } catch (e) {
    error = (e as Error).message.split("\n")[0];
    log(`${name} section: ${error}`);
  } finally {
    await provider.down().catch(() => undefined);
  }
  notes.push(...fixedNotes);
  return { measuredAt: new Date().toISOString(), machine: machineInfo(), seconds: seconds(started), data, notes, ...(error ? { error } : {}) };
}

if (import.meta.main) {
  const i = process.argv.indexOf("--out");
  const out = i >= 0 ? process.argv[i + 1] : undefined;
  if (!out) {
    process.stderr.write("usage: kind.ts --out file.json\n");
    process.exit(2);
  }
  writeFileSync(out, JSON.stringify({ kind: await kindSection() }, null, 2));
}
