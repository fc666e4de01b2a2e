/**
 * The minikube section, measured the way the kind section is, in one run on this machine:
 *   - minikube's base image built here (minikube/kicbase.ts): cold (our kicbase images removed
 *     first; the kind node image it is built on stays cached, its cold build is the kind
 *     section's) and warm (nothing to build: the input digest matches);
 *   - `minikube start` to a Ready node (--wait=all), plus registry and wiring, and `down`,
 *     each twice;
 *   - the whole e2e on minikube, with its phases.
 * Runs as a child of main.ts under the cluster lock (root: it may start the project dockerd).
 */
import { join } from "node:path";
import { COREDNS_VERSION, KUBERNETES_VERSION, MinikubeProvider, cacheRoot, docker$ } from "@mlflow-k8s/cluster";
import { defaultParts, ensureNodeImage } from "../../packages/cluster/src/kind/nodeimage.ts";
import { KICBASE_REPOSITORY, ensureKicbase } from "../../packages/cluster/src/minikube/kicbase.ts";
import { MINIKUBE_VERSION } from "../../packages/cluster/src/layout.ts";
import type { KindData, Section } from "./results.ts";
import { measureImageAndCycles, providerSection } from "./kind.ts";

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

export async function minikubeSection(): Promise<Section<KindData>> {
  const provider = new MinikubeProvider({ log });
  return providerSection("minikube", provider, async (data, notes) => {
    const target = await provider.engine.ensure();
    const docker = (args: string[]) => docker$(target, { nothrow: true })`${target.bin} ${args}`;
    const parts = defaultParts();
    const node = await ensureNodeImage(target, await provider.engine.debianBase(), { ...parts, coredns: join(parts.corednsDir, COREDNS_VERSION, "bin", "coredns") }, log);
    const kicParts = { nodeImage: node.ref, kubernetesVersion: KUBERNETES_VERSION, minikubeBin: join(cacheRoot(), "minikube", MINIKUBE_VERSION, "bin"), imagesDir: parts.imagesDir };
    // Cold: remove our base images (the kind node image under them stays).
    const ours = (await docker(["images", "--format", "{{.Repository}}:{{.Tag}}"])).stdout.split("\n").filter((r) => r.startsWith(`${KICBASE_REPOSITORY}:`));
    if (ours.length) await docker(["rmi", "-f", ...ours]);
    await measureImageAndCycles("minikube", "base image", () => ensureKicbase(target, kicParts, log), provider, data, notes, docker);
  }, [
    `Base image cold: minikube ${MINIKUBE_VERSION}, crictl and the storage-provisioner are already built (from-source/build-minikube.sh: minikube itself 564 s cold on 2 cores, 1.3 GB peak RSS) and the kind node image is cached; the docker build layer cache may be warm.`,
    "`up`: the project's dockerd running, base image cached; `minikube start --wait=all` (node Ready, system pods running), the registry container attached to the profile's network, hosts.toml and the local-registry-hosting ConfigMap. `down`: minikube delete, registry removed, dockerd stopped (when nothing else runs on it).",
    "e2e: `node e2e/src/main.ts --provider minikube`.",
  ]);
}
