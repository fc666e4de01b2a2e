/**
 * Images assembled without a registry or a Docker daemon, written as `docker save`-format
 * archives (manifest.json + config + layer.tar) that `docker load` and `ctr images import`
 * both read:
 *   - registry.k8s.io/pause:<v>: Kubernetes' own build/pause/linux/pause.c, gcc -static;
 *   - mlflow-k8s/debian:bookworm: `debootstrap --variant=minbase bookworm` (rootfs cached),
 *     the base every image is built FROM where no registry is reachable;
 *   - single-layer images of static binaries (kind/nodeimage.ts: the control plane, etcd, CoreDNS).
 */
import { $ } from "zx";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { PAUSE_VERSION, PAUSE_IMAGE, DEBIAN_BASE_IMAGE, KUBERNETES_VERSION } from "./layout.ts";

export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
}

const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Refuses references that would make the kubelet pull (":latest" or no tag). */
export function assertPinnedTag(ref: string): void {
  const lastSlash = ref.lastIndexOf("/");
  const colon = ref.indexOf(":", lastSlash + 1);
  if (ref.includes("@sha256:")) return;
  if (colon < 0) throw new Error(`image "${ref}" has no tag: give it an explicit version tag (untagged means :latest, which the kubelet always tries to pull)`);
  if (ref.slice(colon + 1) === "latest") throw new Error(`image "${ref}" is tagged :latest: use an explicit version tag (the kubelet always tries to pull :latest, and no registry is reachable)`);
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** The image config JSON (OCI/docker v1 image config) for one layer. */
export function renderImageConfig(diffId: string, cfg: ImageConfig, created = "1970-01-01T00:00:00Z"): string {
  const config: Record<string, unknown> = { Env: cfg.env ?? [DEFAULT_PATH] };
  if (cfg.entrypoint) config.Entrypoint = cfg.entrypoint;
  if (cfg.cmd) config.Cmd = cfg.cmd;
  if (cfg.user) config.User = cfg.user;
  if (cfg.workingDir) config.WorkingDir = cfg.workingDir;
  return JSON.stringify({
    architecture: "amd64",
    os: "linux",
    created,
    config,
    rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] },
    history: [{ created, created_by: "@mlflow-k8s/cluster images.ts" }],
  });
}

/** Writes a single-layer `docker save` archive at `out` from an uncompressed layer tar. */
export async function writeDockerArchive(layerTar: string, ref: string, cfg: ImageConfig, out: string): Promise<void> {
  assertPinnedTag(ref);
  const work = mkdtempSync(join(out + ".d-"));
  try {
    const diffId = await sha256File(layerTar);
    const config = renderImageConfig(diffId, cfg);
    const configId = createHash("sha256").update(config).digest("hex");
    mkdirSync(join(work, diffId));
    copyFileSync(layerTar, join(work, diffId, "layer.tar"));
    writeFileSync(join(work, `${configId}.json`), config);
    writeFileSync(join(work, "manifest.json"), JSON.stringify([{ Config: `${configId}.json`, RepoTags: [ref], Layers: [`${diffId}/layer.tar`] }]));
    await $({ quiet: true })`tar --numeric-owner -C ${work} -cf ${out + ".tmp"} manifest.json ${configId + ".json"} ${diffId + "/layer.tar"}`;
    renameSync(out + ".tmp", out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Tars a directory as an image layer (owner root, numeric ids). */
export async function tarLayer(rootfs: string, out: string): Promise<void> {
  await $({ quiet: true })`tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C ${rootfs} -cf ${out} .`;
}

function gomodcache(): Promise<string> {
  return $({ quiet: true })`go env GOMODCACHE`.then((o) => o.stdout.trim());
}

/** Path of an image archive in the cache, named after its ref. */
export function archivePath(imagesDir: string, ref: string): string {
  return join(imagesDir, ref.replace(/[/:@]/g, "_") + ".tar");
}

/** registry.k8s.io/pause from Kubernetes' own pause.c, compiled statically. */
export async function buildPauseImage(imagesDir: string): Promise<string> {
  const out = archivePath(imagesDir, PAUSE_IMAGE);
  if (existsSync(out)) return out;
  mkdirSync(imagesDir, { recursive: true });
  const src = join(await gomodcache(), `k8s.io/kubernetes@${KUBERNETES_VERSION}`, "build/pause/linux/pause.c");
  if (!existsSync(src)) {
    await $({ quiet: true })`go mod download k8s.io/kubernetes@${KUBERNETES_VERSION}`;
  }
  if (!existsSync(src)) throw new Error(`pause.c not found at ${src}: run packages/cluster/from-source/build-kubernetes.sh first`);
  const work = mkdtempSync(join(imagesDir, "pause-"));
  try {
    mkdirSync(join(work, "rootfs"));
    await $({ quiet: true })`gcc -Os -Wall -Werror -static -DVERSION=v${PAUSE_VERSION}-mlflow-k8s -o ${join(work, "rootfs", "pause")} ${src}`;
    await $({ quiet: true })`strip ${join(work, "rootfs", "pause")}`;
    await tarLayer(join(work, "rootfs"), join(work, "layer.tar"));
    await writeDockerArchive(join(work, "layer.tar"), PAUSE_IMAGE, { entrypoint: ["/pause"], user: "65535:65535", env: [] }, out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

function debianMirror(): string {
  return process.env.MLFLOW_K8S_DEBIAN_MIRROR || "http://deb.debian.org/debian";
}

/**
 * mlflow-k8s/debian:bookworm from `debootstrap --variant=minbase bookworm`. The rootfs
 * tarball is cached (images/debian-bookworm-minbase.rootfs.tar), so debootstrap runs once.
 */
export async function buildDebianBaseImage(imagesDir: string, log: (m: string) => void = () => {}): Promise<string> {
  const out = archivePath(imagesDir, DEBIAN_BASE_IMAGE);
  if (existsSync(out)) return out;
  mkdirSync(imagesDir, { recursive: true });
  const rootfsTar = join(imagesDir, "debian-bookworm-minbase.rootfs.tar");
  if (!existsSync(rootfsTar)) {
    if (!existsSync("/usr/sbin/debootstrap")) throw new Error("debootstrap is not installed: run packages/cluster/from-source/install-host-deps.sh (apt-get install debootstrap)");
    const work = mkdtempSync(join(imagesDir, "debootstrap-"));
    try {
      log(`debootstrap --variant=minbase bookworm (mirror ${debianMirror()})`);
      await $({ quiet: true })`debootstrap --variant=minbase bookworm ${join(work, "rootfs")} ${debianMirror()}`;
      // Keep the image small and free of host traces.
      await $({ quiet: true })`rm -rf ${join(work, "rootfs", "var/cache/apt/archives")}/*.deb ${join(work, "rootfs", "var/lib/apt/lists")} ${join(work, "rootfs", "debootstrap")}`.nothrow();
      mkdirSync(join(work, "rootfs", "var/lib/apt/lists/partial"), { recursive: true });
      await $({ quiet: true })`tar --numeric-owner -C ${join(work, "rootfs")} --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* -cf ${rootfsTar + ".tmp"} .`;
      renameSync(rootfsTar + ".tmp", rootfsTar);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const layer = join(imagesDir, "debian-layer.tmp.tar");
  copyFileSync(rootfsTar, layer);
  try {
    await writeDockerArchive(layer, DEBIAN_BASE_IMAGE, { cmd: ["/bin/bash"], env: [DEFAULT_PATH, "LANG=C.UTF-8"] }, out);
  } finally {
    rmSync(layer, { force: true });
  }
  return out;
}
