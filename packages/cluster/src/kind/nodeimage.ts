/**
 * A kind node image built with no registry: the equivalent of `kind build node-image`
 * (which pulls its base, etcd, CoreDNS, pause, kindnetd and the storage images) from parts
 * built here.
 *
 *   base     docker build packages/cluster/kind/node-image (Debian bookworm from debootstrap,
 *            systemd, Debian's containerd/runc/CNI plugins, our entrypoint and units)
 *   bits     kubeadm, kubelet, kubectl from from-source/build-kubernetes.sh -> /usr/bin
 *   images   every image kubeadm and kind's manifests name, tagged exactly as they name them
 *            (kubeadm config images list), built from the same source builds, imported into
 *            the node's containerd (k8s.io namespace) and labelled pinned:
 *              kube-apiserver, kube-controller-manager, kube-scheduler, etcd, CoreDNS, pause:
 *                single-layer images of the static binaries (no Docker needed)
 *              kube-proxy, kube-router: the binary on a Debian layer with iptables/ipset
 *              local-path-provisioner: a single-layer image; its helper: our Debian base, retagged
 *   files    /kind/version, /kind/manifests/default-cni.yaml (kube-router's firewall as the
 *            NetworkPolicy engine; pod networking is a static ptp CNI config in the base),
 *            /kind/manifests/default-storage.yaml (the default StorageClass, as kindest/node)
 *
 * The result is tagged mlflow-k8s/kind-node:<k8s version>-<hash of every input>, so it is
 * rebuilt only when an input changes, and kept in the engine's data root between runs.
 */
import { $ } from "zx";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, copyFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type { DockerTarget } from "../docker.ts";
import { dockerBuild, dockerHasImage, docker$ } from "../docker.ts";
import { archivePath, buildPauseImage, sha256File, tarLayer, writeDockerArchive } from "../offline-images.ts";
import { KUBERNETES_VERSION, PAUSE_IMAGE, cacheRoot } from "../layout.ts";
import { step } from "../log.ts";
import type { Logger } from "../log.ts";

export const NODE_IMAGE_DIR = new URL("../../kind/node-image/", import.meta.url).pathname;
export const NODE_IMAGE_REPOSITORY = "mlflow-k8s/kind-node";
/**
 * The NetworkPolicy engine of our node image (manifests/default-cni.yaml says why it is not
 * kindnet): kube-router's firewall, built by scripts/setup.sh from the Go module proxy.
 */
export const KUBE_ROUTER_IMAGE = "docker.io/mlflow-k8s/kube-router:v2.1.0";
/** The default StorageClass's provisioner and helper (manifests/default-storage.yaml names them). */
export const LOCAL_PATH_PROVISIONER_IMAGE = "docker.io/mlflow-k8s/local-path-provisioner:v0.0.30";
export const LOCAL_PATH_HELPER_IMAGE = "docker.io/mlflow-k8s/local-path-helper:v0.0.30";
/** The images our manifests name, beside kubeadm's. */
export const MANIFEST_IMAGES = [KUBE_ROUTER_IMAGE, LOCAL_PATH_PROVISIONER_IMAGE, LOCAL_PATH_HELPER_IMAGE];
/** The manifests kind applies from /kind/manifests when it creates a cluster. */
export const KIND_MANIFESTS = ["default-cni.yaml", "default-storage.yaml"];

export interface NodeImageParts {
  kubernetesVersion: string;
  /** Directory with kubeadm, kubelet, kubectl, kube-apiserver, ..., kube-proxy, etcd. */
  k8sBin: string;
  /** CoreDNS binary at the version kubeadm names. */
  coredns: string;
  kubeRouter: string;
  localPathProvisioner: string;
  /** Where image archives are cached. */
  imagesDir: string;
}

export function defaultParts(cache = cacheRoot()): Omit<NodeImageParts, "coredns"> & { corednsDir: string } {
  return {
    kubernetesVersion: KUBERNETES_VERSION,
    k8sBin: join(cache, "kubernetes", KUBERNETES_VERSION, "bin"),
    corednsDir: join(cache, "coredns"),
    kubeRouter: join(cache, "go", "bin", "kube-router"),
    localPathProvisioner: join(cache, "go", "bin", "local-path-provisioner"),
    imagesDir: join(cache, "images"),
  };
}

/** `kubeadm config images list` output -> the references it names (pure, unit-tested). */
export function parseKubeadmImages(out: string): { apiserver: string; controllerManager: string; scheduler: string; proxy: string; etcd: string; coredns: string; pause: string } {
  const refs = out.split("\n").map((l) => l.trim()).filter(Boolean);
  const find = (name: string): string => {
    const r = refs.find((ref) => ref.slice(0, ref.lastIndexOf(":")).endsWith(`/${name}`));
    if (!r) throw new Error(`kubeadm config images list names no ${name} image; it printed:\n${out.trim()}`);
    return r;
  };
  return {
    apiserver: find("kube-apiserver"),
    controllerManager: find("kube-controller-manager"),
    scheduler: find("kube-scheduler"),
    proxy: find("kube-proxy"),
    etcd: find("etcd"),
    coredns: find("coredns"),
    pause: find("pause"),
  };
}

/** The tag part of an image reference ("registry.k8s.io/etcd:3.6.4-0" -> "3.6.4-0"). */
export function tagOf(ref: string): string {
  return ref.slice(ref.lastIndexOf(":") + 1);
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out.sort();
}

/** A digest of the node image's inputs: our files, the binaries, the image list. */
export async function inputsDigest(files: string[], binaries: string[], extra: string[]): Promise<string> {
  const h = createHash("sha256");
  for (const f of files) h.update(`file ${relative(NODE_IMAGE_DIR, f)} ${await sha256File(f)} ${statSync(f).mode & 0o111 ? "x" : "-"}\n`);
  for (const b of binaries) h.update(`bin ${b.split("/").pop()} ${await sha256File(b)}\n`);
  for (const e of extra) h.update(`ref ${e}\n`);
  return h.digest("hex").slice(0, 12);
}

async function docker(target: DockerTarget, args: string[], opts: { input?: string } = {}): Promise<string> {
  const r = await docker$(target, { input: opts.input })`${target.bin} ${args}`.nothrow();
  if (r.exitCode !== 0) throw new Error(`docker ${args.join(" ").slice(0, 200)} exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(-1500)}`);
  return r.stdout;
}

/** A single-layer image of one static binary at `at` (what FROM scratch + COPY gives). */
export async function staticBinaryImage(imagesDir: string, ref: string, bin: string, at: string, entrypoint?: string[]): Promise<string> {
  const out = archivePath(imagesDir, ref);
  const stamp = `${out}.src`;
  const src = `${await sha256File(bin)} ${at}`;
  if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, "utf8") === src) return out;
  const work = mkdtempSync(join(imagesDir, "static-"));
  try {
    const root = join(work, "rootfs");
    mkdirSync(join(root, "tmp"), { recursive: true });
    mkdirSync(dirname(join(root, at)), { recursive: true });
    copyFileSync(bin, join(root, at));
    await $({ quiet: true })`chmod 0755 ${join(root, at)}`;
    await tarLayer(root, join(work, "layer.tar"));
    await writeDockerArchive(join(work, "layer.tar"), ref, { env: ["PATH=/usr/local/bin:/usr/bin:/bin"], ...(entrypoint ? { entrypoint } : {}) }, out);
    writeFileSync(stamp, src);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

/** kube-proxy and kube-router call iptables/ipset: their binary on the Debian base plus those tools. */
async function netToolsImage(target: DockerTarget, base: string, imagesDir: string, ref: string, bin: string, at: string): Promise<string> {
  const out = archivePath(imagesDir, ref);
  const stamp = `${out}.src`;
  const dockerfile = readFileSync(join(NODE_IMAGE_DIR, "net-tools.Dockerfile"), "utf8");
  const src = `${await sha256File(bin)} ${createHash("sha256").update(dockerfile).digest("hex")} ${at} ${base}`;
  if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, "utf8") === src) return out;
  const work = mkdtempSync(join(imagesDir, "net-tools-"));
  try {
    copyFileSync(bin, join(work, "binary"));
    copyFileSync(join(NODE_IMAGE_DIR, "net-tools.Dockerfile"), join(work, "Dockerfile"));
    await dockerBuild(target, { context: work, tag: ref, buildArgs: { BASE_IMAGE: base, BINARY_PATH: at } }, { quiet: true, networkHost: true });
    await docker$(target)`${target.bin} save -o ${out} ${ref}`;
    writeFileSync(stamp, src);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

/** An image that is `base` under another name (an archive of `docker tag` + `docker save`). */
async function retaggedImage(target: DockerTarget, base: string, imagesDir: string, ref: string): Promise<string> {
  const out = archivePath(imagesDir, ref);
  const stamp = `${out}.src`;
  const id = (await docker(target, ["image", "inspect", "--format", "{{.Id}}", base])).trim();
  if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, "utf8") === id) return out;
  await docker(target, ["tag", base, ref]);
  await docker(target, ["save", "-o", out, ref]);
  writeFileSync(stamp, id);
  return out;
}

/**
 * Imports image archives into the containerd of a build container (its PID 1 is `sleep`, so
 * containerd is started by hand and stopped again before `docker commit`), labels every image
 * pinned (containerd's CRI never garbage-collects them: there is no registry to pull them back
 * from), and checks that `want` are all there.
 */
export async function importPinned(target: DockerTarget, name: string, archives: string[], want: string[]): Promise<void> {
  await docker(target, ["exec", name, "bash", "-c", "nohup containerd > /var/log/containerd-build.log 2>&1 &"]);
  await docker(target, ["exec", name, "bash", "-c", "for i in $(seq 1 50); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; cat /var/log/containerd-build.log; exit 1"]);
  for (const a of archives) {
    await docker$(target)`${target.bin} exec -i ${name} ctr -n k8s.io images import --all-platforms --no-unpack --digests - < ${a}`;
  }
  const list = (await docker(target, ["exec", name, "ctr", "-n", "k8s.io", "images", "list", "-q"])).split("\n").filter(Boolean);
  for (const r of list) await docker(target, ["exec", name, "ctr", "-n", "k8s.io", "images", "label", r, "io.cri-containerd.pinned=pinned"]);
  const absent = want.filter((w) => !list.includes(w));
  if (absent.length) throw new Error(`images missing from the node's containerd after import: ${absent.join(", ")}; it has: ${list.join(", ")}`);
  await docker(target, ["exec", name, "pkill", "containerd"]);
  // Exited (or a zombie: the build container's PID 1 is `sleep`, which reaps nothing), so its database is closed.
  await docker(target, ["exec", name, "bash", "-c", "for i in $(seq 1 100); do ps -C containerd -o stat= | grep -qv '^Z' || exit 0; sleep 0.2; done; echo 'containerd did not exit' >&2; exit 1"]);
}

export interface BuiltNodeImage {
  ref: string;
  /** True when it was already there (nothing built). */
  cached: boolean;
}

/**
 * Ensures the node image exists in `target`'s engine and returns its reference. Builds
 * only what is missing: cached image archives, the base image layers, the node image tag.
 */
export async function ensureNodeImage(target: DockerTarget, base: string, parts: NodeImageParts, log: Logger): Promise<BuiltNodeImage> {
  const bin = (b: string) => join(parts.k8sBin, b);
  const required = ["kubeadm", "kubelet", "kubectl", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd"];
  const missing = [...required.map(bin), parts.coredns, parts.kubeRouter, parts.localPathProvisioner].filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`the kind node image needs binaries that are not built: ${missing.join(", ")} (run scripts/setup.sh)`);
  const images = parseKubeadmImages((await $({ quiet: true })`${bin("kubeadm")} config images list --kubernetes-version ${parts.kubernetesVersion}`).stdout);
  if (images.pause !== PAUSE_IMAGE) throw new Error(`kubeadm ${parts.kubernetesVersion} wants ${images.pause}, but the node's containerd config and the pause build use ${PAUSE_IMAGE}`);
  const etcdVersion = (await $({ quiet: true })`${bin("etcd")} --version`).stdout.match(/etcd Version: (\S+)/)?.[1];
  if (!tagOf(images.etcd).startsWith(`${etcdVersion}-`)) {
    throw new Error(`kubeadm ${parts.kubernetesVersion} wants ${images.etcd}, but the etcd built is ${etcdVersion}: rebuild with ETCD_VERSION=v${tagOf(images.etcd).replace(/-\d+$/, "")} packages/cluster/from-source/build-kubernetes.sh`);
  }
  const corednsVersion = (await $({ quiet: true })`${parts.coredns} -version`).stdout.match(/CoreDNS-(\S+)/)?.[1];
  if (`v${corednsVersion}` !== tagOf(images.coredns)) throw new Error(`kubeadm ${parts.kubernetesVersion} wants ${images.coredns}, but the CoreDNS built is ${corednsVersion}`);

  const files = filesUnder(NODE_IMAGE_DIR);
  const binaries = [...required.map(bin), parts.coredns, parts.kubeRouter, parts.localPathProvisioner];
  const digest = await inputsDigest(files, binaries, [...Object.values(images), ...MANIFEST_IMAGES, base]);
  const ref = `${NODE_IMAGE_REPOSITORY}:${parts.kubernetesVersion}-${digest}`;
  if (await dockerHasImage(target, ref)) return { ref, cached: true };

  mkdirSync(parts.imagesDir, { recursive: true });
  await step(log, `build the kind node image ${ref}`, async () => {
    const archives = await step(log, "component images (static binaries; kube-proxy and kube-router on Debian with iptables)", async () => [
      await staticBinaryImage(parts.imagesDir, images.apiserver, bin("kube-apiserver"), "/usr/local/bin/kube-apiserver"),
      await staticBinaryImage(parts.imagesDir, images.controllerManager, bin("kube-controller-manager"), "/usr/local/bin/kube-controller-manager"),
      await staticBinaryImage(parts.imagesDir, images.scheduler, bin("kube-scheduler"), "/usr/local/bin/kube-scheduler"),
      await staticBinaryImage(parts.imagesDir, images.etcd, bin("etcd"), "/usr/local/bin/etcd"),
      await staticBinaryImage(parts.imagesDir, images.coredns, parts.coredns, "/coredns", ["/coredns"]),
      await buildPauseImage(parts.imagesDir),
      await netToolsImage(target, base, parts.imagesDir, images.proxy, bin("kube-proxy"), "/usr/local/bin/kube-proxy"),
      await netToolsImage(target, base, parts.imagesDir, KUBE_ROUTER_IMAGE, parts.kubeRouter, "/usr/local/bin/kube-router"),
      await staticBinaryImage(parts.imagesDir, LOCAL_PATH_PROVISIONER_IMAGE, parts.localPathProvisioner, "/usr/local/bin/local-path-provisioner"),
      await retaggedImage(target, base, parts.imagesDir, LOCAL_PATH_HELPER_IMAGE),
    ]);
    const nodeBase = `mlflow-k8s/kind-base:${digest}`;
    await step(log, "base image (docker build packages/cluster/kind/node-image)", () =>
      dockerBuild(target, { context: NODE_IMAGE_DIR, tag: nodeBase, buildArgs: { BASE_IMAGE: base } }, { quiet: true, networkHost: true }),
    );
    const name = `mlflow-k8s-node-build-${process.pid}`;
    await docker(target, ["run", "-d", "--name", name, "--network", "none", "--entrypoint", "sleep", "--security-opt", "seccomp=unconfined", nodeBase, "infinity"]);
    try {
      for (const b of ["kubeadm", "kubelet", "kubectl"]) await docker(target, ["cp", bin(b), `${name}:/usr/bin/${b}`]);
      await docker(target, ["exec", name, "chown", "root:root", "/usr/bin/kubeadm", "/usr/bin/kubelet", "/usr/bin/kubectl"]);
      await docker(target, ["exec", "-i", name, "sh", "-c", "mkdir -p /kind/manifests && cat > /kind/version"], { input: parts.kubernetesVersion });
      for (const m of KIND_MANIFESTS) {
        await docker(target, ["exec", "-i", name, "sh", "-c", `cat > /kind/manifests/${m}`], { input: readFileSync(join(NODE_IMAGE_DIR, "manifests", m), "utf8") });
      }
      await step(log, `import ${archives.length} images into the node's containerd (pinned)`, () =>
        importPinned(target, name, archives, [...Object.values(images), ...MANIFEST_IMAGES]),
      );
      await docker(target, ["commit", "--change", 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]', name, ref]);
    } finally {
      await docker$(target)`${target.bin} rm -f -v ${name}`.nothrow();
    }
  });
  return { ref, cached: false };
}
