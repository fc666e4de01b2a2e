/**
 * minikube's base image ("kicbase", `minikube start --base-image`) built with no registry: our
 * kind node image (kind/nodeimage.ts: Debian, systemd, containerd, every control-plane image
 * pinned) plus what minikube's docker driver needs (packages/cluster/minikube/kicbase/Dockerfile:
 * sshd, the `docker` user, crictl), plus minikube's storage-provisioner image in the node's
 * containerd (its default addon; built from minikube's own source by
 * from-source/build-minikube.sh).
 *
 * Tagged mlflow-k8s/kicbase:<k8s version>-<hash of every input>, so it is rebuilt exactly when
 * an input (the node image included) changes.
 */
import { createHash } from "node:crypto";
import { copyFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import type { DockerTarget } from "../docker.ts";
import { docker$, dockerBuild, dockerHasImage } from "../docker.ts";
import { sha256File } from "../offline-images.ts";
import { importPinned, staticBinaryImage } from "../kind/nodeimage.ts";
import { step } from "../log.ts";
import type { Logger } from "../log.ts";

export const KICBASE_DIR = new URL("../../minikube/kicbase/", import.meta.url).pathname;
export const KICBASE_REPOSITORY = "mlflow-k8s/kicbase";

/** The reference minikube's storage-provisioner addon names (assets/addons.go: gcr.io + k8s-minikube/storage-provisioner:<tag>). */
export function storageProvisionerImage(tag: string): string {
  return `gcr.io/k8s-minikube/storage-provisioner:${tag}`;
}

export interface KicbaseParts {
  /** The kind node image built here (its reference in the engine). */
  nodeImage: string;
  kubernetesVersion: string;
  /** from-source/build-minikube.sh's bin dir: crictl, storage-provisioner, .storage-provisioner.tag. */
  minikubeBin: string;
  imagesDir: string;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export async function ensureKicbase(target: DockerTarget, parts: KicbaseParts, log: Logger): Promise<{ ref: string; cached: boolean }> {
  const crictl = join(parts.minikubeBin, "crictl");
  const provisioner = join(parts.minikubeBin, "storage-provisioner");
  const spRef = storageProvisionerImage(readFileSync(join(parts.minikubeBin, ".storage-provisioner.tag"), "utf8").trim());
  const h = createHash("sha256");
  for (const f of filesUnder(KICBASE_DIR)) h.update(`file ${relative(KICBASE_DIR, f)} ${await sha256File(f)}\n`);
  for (const b of [crictl, provisioner]) h.update(`bin ${b.split("/").pop()} ${await sha256File(b)}\n`);
  h.update(`node ${parts.nodeImage}\nref ${spRef}\n`);
  const ref = `${KICBASE_REPOSITORY}:${parts.kubernetesVersion}-${h.digest("hex").slice(0, 12)}`;
  if (await dockerHasImage(target, ref)) return { ref, cached: true };

  await step(log, `build minikube's base image ${ref}`, async () => {
    const archive = await staticBinaryImage(parts.imagesDir, spRef, provisioner, "/storage-provisioner", ["/storage-provisioner"]);
    const work = mkdtempSync(join(parts.imagesDir, "kicbase-"));
    const layer = `${KICBASE_REPOSITORY}-layer:${ref.split(":")[1]}`;
    const name = `mlflow-k8s-kicbase-build-${process.pid}`;
    try {
      cpSync(KICBASE_DIR, work, { recursive: true });
      copyFileSync(crictl, join(work, "crictl"));
      await step(log, "docker build packages/cluster/minikube/kicbase (sshd, sudo, the docker user, crictl)", () =>
        dockerBuild(target, { context: work, tag: layer, buildArgs: { NODE_IMAGE: parts.nodeImage } }, { quiet: true, networkHost: true }),
      );
      await docker$(target, { quiet: true })`${target.bin} run -d --name ${name} --network none --entrypoint sleep --security-opt seccomp=unconfined ${layer} infinity`;
      await step(log, `import ${spRef} into the node's containerd (pinned)`, () => importPinned(target, name, [archive], [spRef]));
      await docker$(target, { quiet: true })`${target.bin} commit --change ${'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]'} ${name} ${ref}`;
    } finally {
      await docker$(target, { quiet: true })`${target.bin} rm -f -v ${name}`.nothrow();
      await docker$(target, { quiet: true })`${target.bin} rmi ${layer}`.nothrow();
      rmSync(work, { recursive: true, force: true });
    }
  });
  return { ref, cached: false };
}
