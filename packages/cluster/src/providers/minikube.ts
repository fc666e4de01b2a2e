/**
 * `minikube` provider: a profile on minikube's docker driver with containerd as the runtime,
 * the same local OCI registry as kind (images are pushed there and pods pull them), MLflow's
 * NodePorts published on 127.0.0.1. Runs the same way on GitHub runners and here; where no
 * Docker engine runs and no registry outside is reachable (ours), two things differ:
 *   - the Docker engine is the project's own dockerd (kind/engine.ts);
 *   - minikube's base image is built here (minikube/kicbase.ts: our kind node image plus sshd
 *     and the `docker` user), Kubernetes' binaries come from minikube's cache pre-filled from
 *     the source build, and the CNI is our node image's (a static ptp config + kube-router's
 *     firewall as the NetworkPolicy engine) instead of kindnet, which would be pulled.
 * minikube's state lives in its own MINIKUBE_HOME under the cache, so the user's ~/.minikube
 * and their profiles are never touched. Deletes only a profile it started.
 */
import { $ } from "zx";
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Availability, ClusterInfo, ClusterProvider, ImageBuildSpec } from "../provider.ts";
import { COREDNS_VERSION, KUBERNETES_VERSION, MINIKUBE_VERSION, cacheRoot } from "../layout.ts";
import { assertPinnedTag } from "../offline-images.ts";
import type { DockerTarget } from "../docker.ts";
import { dockerBuild, pushToRegistry, registryRef } from "../docker.ts";
import { stderrLogger, step } from "../log.ts";
import type { Logger } from "../log.ts";
import { cliVersion } from "./kind.ts";
import type { CliProviderOptions } from "./kind.ts";
import { hasFlag, minikubeVersionArgs, parseDockerNetworkGateway, parseHostsLookup } from "../hostaddr.ts";
import { DockerEngine } from "../kind/engine.ts";
import { LocalRegistry, portInUse, renderRegistryConfigMap } from "../kind/registry.ts";
import { defaultNodePorts } from "../kind/config.ts";
import { NODE_IMAGE_DIR, defaultParts, ensureNodeImage } from "../kind/nodeimage.ts";
import { ensureKicbase } from "../minikube/kicbase.ts";
import { POD_CIDR, containPodTraffic } from "../podnet.ts";

/** The name minikube writes into the node's /etc/hosts (and CoreDNS) for the host. */
export const MINIKUBE_HOST_NAME = "host.minikube.internal";

export interface MinikubeProviderOptions extends CliProviderOptions {
  /** NodePorts published on 127.0.0.1 (default: MLFLOW_K8S_NODE_PORT or 30080, and the port after it). */
  nodePorts?: number[];
  engine?: DockerEngine;
}

/** minikube itself: built by from-source/build-minikube.sh into the cache, else the one on PATH. */
export function minikubeBinary(cache = cacheRoot()): string {
  const built = join(cache, "minikube", MINIKUBE_VERSION, "bin", "minikube");
  return existsSync(built) ? built : "minikube";
}

/** `minikube start` flags for the base image, cache and CNI built here (pure, unit-tested). */
export function offlineStartArgs(kicbase: string, cniManifest: string): string[] {
  return [
    `--base-image=${kicbase}`,
    // Nothing to download: the images are pinned in the base image, the binaries in the cache.
    "--preload=false",
    "--cache-images=false",
    // kindnet (minikube's default here) would be pulled; ours is in the base image.
    `--cni=${cniManifest}`,
  ];
}

/**
 * `minikube start` flags every run uses (pure, unit-tested). MLflow's NodePorts are published on
 * 127.0.0.1 only, as kind's extraPortMappings do: test traffic stays on loopback, and the web
 * UI's origin is one MLflow accepts by default (from the node's own address, e.g.
 * http://192.168.49.2:30080, MLflow answers the UI's ajax-api calls 403).
 */
export function commonStartArgs(nodePorts: number[], root = process.getuid?.() === 0): string[] {
  return [
    "--driver=docker", "--container-runtime=containerd", "--interactive=false", "--wait=all",
    ...(nodePorts.length ? [`--ports=${nodePorts.map((p) => `127.0.0.1:${p}:${p}`).join(",")}`] : []),
    // The docker driver refuses root (DRV_AS_ROOT) unless forced; our build machines run as
    // root, and the node is a container of the project's own engine either way.
    ...(root ? ["--force"] : []),
  ];
}

export class MinikubeProvider implements ClusterProvider {
  readonly name = "minikube" as const;
  readonly profile: string;
  private readonly stateDir: string;
  private readonly userArgs: string[];
  private readonly version: string | undefined;
  readonly nodePorts: number[];
  readonly engine: DockerEngine;
  private readonly log: Logger;
  private target?: DockerTarget;
  private registry?: LocalRegistry;

  constructor(opts: MinikubeProviderOptions = {}) {
    this.profile = opts.clusterName ?? process.env.MLFLOW_K8S_MINIKUBE_PROFILE ?? "mlflow-k8s";
    this.stateDir = opts.stateDir ?? join(cacheRoot(), "minikube");
    this.userArgs = opts.createArgs ?? [];
    this.version = opts.kubernetesVersion ?? process.env.KUBERNETES_VERSION;
    this.nodePorts = opts.nodePorts ?? defaultNodePorts();
    this.log = opts.log ?? stderrLogger("minikube");
    this.engine = opts.engine ?? new DockerEngine(this.log);
  }

  /** The start flags given by the caller, plus the Kubernetes version unless they chose one. */
  get createArgs(): string[] {
    return hasFlag(this.userArgs, "--kubernetes-version") ? this.userArgs : [...this.userArgs, ...minikubeVersionArgs(this.version)];
  }

  get kubeconfig(): string {
    return join(this.stateDir, `${this.profile}.kubeconfig`);
  }
  /** minikube's own home (profiles, keys, caches): ours, never the user's ~/.minikube. */
  get home(): string {
    return join(this.stateDir, "home");
  }
  private get marker(): string {
    return join(this.stateDir, `${this.profile}.created`);
  }
  private env(): Record<string, string> {
    return {
      ...(process.env as Record<string, string>),
      ...(this.target?.env ?? {}),
      KUBECONFIG: this.kubeconfig,
      MINIKUBE_HOME: this.home,
      MINIKUBE_IN_STYLE: "false",
      // No update check against GitHub / storage.googleapis.com on every start.
      MINIKUBE_WANTUPDATENOTIFICATION: "false",
      MINIKUBE_WANTBETAUPDATENOTIFICATION: "false",
      // minikube start probes its image repository with the host's curl (tryRegistry); that
      // curl is our stub that exits at once, so nothing outside is addressed.
      PATH: `${this.noProbeBin}:${process.env.PATH ?? ""}`,
    };
  }
  /** A directory whose `curl` refuses to run (see env()). */
  private get noProbeBin(): string {
    const dir = join(this.stateDir, "no-probe-bin");
    if (!existsSync(join(dir, "curl"))) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "curl"), "#!/bin/sh\necho 'curl: disabled for minikube by mlflow-k8s (no network probes outside)' >&2\nexit 7\n", { mode: 0o755 });
    }
    return dir;
  }
  private mk() {
    return $({ quiet: true, env: this.env() });
  }

  async available(): Promise<Availability> {
    const v = await cliVersion([minikubeBinary(), "version", "--short"]);
    if (!v) return { ok: false, reason: `minikube is not on PATH: run packages/cluster/from-source/build-minikube.sh (builds ${MINIKUBE_VERSION} into the cache), or install ${MINIKUBE_VERSION} (GitHub Actions: see .github/workflows/e2e.yml)` };
    const why = await this.engine.unavailableReason();
    return why ? { ok: false, reason: `minikube's docker driver needs a Docker engine: ${why}` } : { ok: true };
  }

  async toolVersions(): Promise<Record<string, string>> {
    const v: Record<string, string> = {};
    const m = await cliVersion([minikubeBinary(), "version", "--short"]);
    if (m) v.minikube = m;
    return v;
  }

  /** minikube at the pinned version, or a one-line error saying how to get it. */
  private async checkVersion(): Promise<void> {
    const bin = minikubeBinary();
    const v = await cliVersion([bin, "version", "--short"]);
    if (!v) throw new Error(`minikube is not installed: run packages/cluster/from-source/build-minikube.sh (builds ${MINIKUBE_VERSION} into the cache), or install minikube ${MINIKUBE_VERSION}`);
    if (v !== MINIKUBE_VERSION) throw new Error(`minikube ${v} (${bin}) is not the version this project pins (${MINIKUBE_VERSION}): run packages/cluster/from-source/build-minikube.sh, or install minikube ${MINIKUBE_VERSION}`);
  }

  /** "Running", another host state (e.g. "Stopped"), or undefined when our MINIKUBE_HOME has no such profile. */
  private async hostState(): Promise<string | undefined> {
    const r = await this.mk()`${minikubeBinary()} status -p ${this.profile} --format {{.Host}}`.nothrow();
    const s = r.stdout.trim();
    // Exit 85 with "Profile ... not found": no such profile here.
    if (r.exitCode === 85 || /not found/i.test(r.stdout + r.stderr) || !s) return undefined;
    return s;
  }

  private async healthy(): Promise<boolean> {
    const r = await this.mk()`${minikubeBinary()} status -p ${this.profile} --format {{.APIServer}}`.nothrow();
    if (r.stdout.trim() !== "Running") return false;
    await this.mk()`${minikubeBinary()} update-context -p ${this.profile}`.nothrow();
    return (await $({ quiet: true, timeout: "20s" })`kubectl --kubeconfig ${this.kubeconfig} get --raw /readyz`.nothrow()).exitCode === 0;
  }

  /** The flags minikube start gets: ours, the offline ones where the engine is the project's own, the caller's. */
  private async startArgs(): Promise<string[]> {
    const args = commonStartArgs(this.nodePorts);
    if (this.engine.ours() && !hasFlag(this.userArgs, "--base-image")) {
      if (this.version && this.version.replace(/^v?/, "v") !== KUBERNETES_VERSION) {
        throw new Error(`KUBERNETES_VERSION=${this.version}, but the Kubernetes built here is ${KUBERNETES_VERSION} and no registry is reachable for another: unset KUBERNETES_VERSION`);
      }
      const cache = cacheRoot();
      const parts = defaultParts(cache);
      const base = await this.engine.debianBase();
      const node = await ensureNodeImage(this.target!, base, { ...parts, coredns: join(parts.corednsDir, COREDNS_VERSION, "bin", "coredns") }, this.log);
      const minikubeBin = join(cache, "minikube", MINIKUBE_VERSION, "bin");
      if (!existsSync(join(minikubeBin, "crictl"))) throw new Error(`minikube's node parts are not built (${minikubeBin}): run packages/cluster/from-source/build-minikube.sh`);
      const kic = await ensureKicbase(this.target!, { nodeImage: node.ref, kubernetesVersion: KUBERNETES_VERSION, minikubeBin, imagesDir: parts.imagesDir }, this.log);
      this.log(`base image ${kic.ref}${kic.cached ? " (cached)" : ""}`);
      this.prefillBinaryCache(parts.k8sBin);
      args.push(...offlineStartArgs(kic.ref, join(NODE_IMAGE_DIR, "manifests", "default-cni.yaml")), `--kubernetes-version=${KUBERNETES_VERSION}`);
    }
    return [...args, ...this.createArgs.filter((a) => !(args.includes(a) || (a.startsWith("--kubernetes-version") && hasFlag(args, "--kubernetes-version"))))];
  }

  /** minikube copies kubeadm, kubelet and kubectl from its cache to the node, downloading any that is missing: ours are the source build. */
  private prefillBinaryCache(k8sBin: string): void {
    const dir = join(this.home, ".minikube", "cache", "linux", "amd64", KUBERNETES_VERSION);
    mkdirSync(dir, { recursive: true });
    for (const b of ["kubeadm", "kubelet", "kubectl"]) {
      const to = join(dir, b);
      rmSync(to, { force: true });
      symlinkSync(join(k8sBin, b), to);
    }
  }

  /** A profile of our MINIKUBE_HOME is ours; a container of that name without one belongs to someone else's minikube. */
  private async foreignContainer(): Promise<boolean> {
    const r = await $({ quiet: true, env: this.env() })`${this.target!.bin} container inspect --format {{.Name}} ${this.profile}`.nothrow();
    return r.exitCode === 0;
  }

  async up(): Promise<ClusterInfo> {
    mkdirSync(this.stateDir, { recursive: true });
    this.argsOnce = undefined;
    await this.checkVersion();
    this.target = await this.engine.ensure();
    this.registry = new LocalRegistry(this.target, this.log, { base: await this.engine.debianBase() });
    const state = await this.hostState();
    if (state === undefined) {
      if (await this.foreignContainer()) {
        throw new Error(`a container named ${this.profile} exists but is no minikube profile of this project (another MINIKUBE_HOME's?): delete it with that minikube (minikube delete -p ${this.profile}), or set MLFLOW_K8S_MINIKUBE_PROFILE to another name`);
      }
      await this.start();
    } else if (state === "Running" && (await this.healthy())) {
      const stale = existsSync(this.marker) ? await this.baseImageChanged() : undefined;
      if (stale) {
        this.log(`minikube profile ${this.profile} was started from another base image (${stale}): deleting and recreating it`);
        await this.mk()`${minikubeBinary()} delete -p ${this.profile}`;
        await this.start();
      } else {
        this.log(`reusing minikube profile ${this.profile} (start flags not applied)`);
      }
    } else if (existsSync(this.marker)) {
      this.log(`minikube profile ${this.profile} (left by an earlier run, host ${state}) is not healthy: deleting and recreating it`);
      await this.mk()`${minikubeBinary()} delete -p ${this.profile}`;
      await this.start();
    } else {
      throw new Error(`minikube profile ${this.profile} exists in ${this.home} (host ${state}), is not healthy and was not started by this provider: delete it (MINIKUBE_HOME=${this.home} minikube delete -p ${this.profile}) or set MLFLOW_K8S_MINIKUBE_PROFILE to another name`);
    }
    // Every up, a reused profile too: a deleted pod's address must fail on the node, not leave this machine.
    await step(this.log, `route the pod range ${POD_CIDR} as unreachable on node ${this.profile}`, () => containPodTraffic(this.target!, this.profile));
    await this.registry.up(this.profile);
    await step(this.log, `wire the local registry ${this.registry.host} into the cluster`, async () => {
      await this.registry!.connect(this.profile);
      await this.registry!.configureNode(this.profile);
      await $({ quiet: true, input: renderRegistryConfigMap(this.registry!.host) })`kubectl --kubeconfig ${this.kubeconfig} apply -f -`;
    });
    return {
      kubeconfig: this.kubeconfig,
      context: this.profile,
      nodePortHost: "127.0.0.1",
      hostAddressForPods: await this.hostAddressForPods(),
      registry: this.registry.host,
      nodePorts: this.nodePorts,
    };
  }

  private argsOnce?: Promise<string[]>;
  /** startArgs() once per up(): it may build the base image, and the stale check and start both need it. */
  private plannedArgs(): Promise<string[]> {
    return (this.argsOnce ??= this.startArgs());
  }

  /** Why the running node was made from another base image than we would start it from now, or undefined. */
  private async baseImageChanged(): Promise<string | undefined> {
    const want = (await this.plannedArgs()).find((a) => a.startsWith("--base-image="))?.slice("--base-image=".length);
    if (!want || hasFlag(this.userArgs, "--base-image")) return undefined;
    const r = await $({ quiet: true, env: this.env() })`${this.target!.bin} inspect --format {{.Config.Image}} ${this.profile}`.nothrow();
    const running = r.stdout.trim();
    return r.exitCode === 0 && running && running !== want ? `its node runs ${running}, the base image now is ${want}` : undefined;
  }

  private async start(): Promise<void> {
    for (const p of this.nodePorts) {
      if (await portInUse(p)) throw new Error(`127.0.0.1:${p} is already in use by another program, so minikube cannot publish MLflow's NodePort there: stop that program (a kind cluster of this project also publishes it: \`pnpm e2e\` tears it down), or set MLFLOW_K8S_NODE_PORT to another port from 30000`);
    }
    const args = await this.plannedArgs();
    await step(this.log, `minikube start -p ${this.profile} ${args.join(" ")}`, async () => {
      writeFileSync(this.marker, new Date().toISOString() + "\n");
      await $({ env: this.env() })`${minikubeBinary()} start -p ${this.profile} ${args}`;
    });
  }

  /**
   * The address pods reach this machine at: what minikube itself resolved as
   * host.minikube.internal and wrote into the node's /etc/hosts (for the docker driver, the
   * gateway of the profile's Docker network, e.g. 192.168.49.1). Falls back to that gateway
   * from `docker network inspect <profile>` if the ssh lookup fails.
   */
  async hostAddressForPods(): Promise<string> {
    const r = await $({ quiet: true, env: this.env(), timeout: "60s" })`${minikubeBinary()} ssh -p ${this.profile} -- getent hosts ${MINIKUBE_HOST_NAME}`.nothrow();
    const fromNode = r.exitCode === 0 ? parseHostsLookup(r.stdout, MINIKUBE_HOST_NAME) : undefined;
    if (fromNode) return fromNode;
    const n = await $({ quiet: true, timeout: "20s", env: this.env() })`${this.target?.bin ?? "docker"} network inspect ${this.profile}`.nothrow();
    const gw = n.exitCode === 0 ? parseDockerNetworkGateway(n.stdout) : undefined;
    if (gw) {
      this.log(`${MINIKUBE_HOST_NAME} lookup on the node failed (exit ${r.exitCode}); using the gateway of Docker network ${this.profile}: ${gw}`);
      return gw;
    }
    throw new Error(
      `cannot tell the host address for pods: \`minikube ssh -- getent hosts ${MINIKUBE_HOST_NAME}\` gave ${JSON.stringify((r.stdout + r.stderr).trim().slice(0, 200))} and Docker network ${this.profile} has no IPv4 gateway`,
    );
  }

  /** Pushes a locally built image to the local registry; pods pull it as the returned reference. */
  async loadImage(imageRef: string): Promise<string> {
    assertPinnedTag(imageRef);
    const registry = this.registry ?? new LocalRegistry((this.target ??= await this.engine.ensure()), this.log);
    return step(this.log, `docker push ${registryRef(imageRef, registry.host)}`, () => pushToRegistry(this.target!, imageRef, registry.host));
  }

  /** docker build on the engine minikube uses; FROM our debootstrap Debian where that engine is ours. */
  async buildImage(spec: ImageBuildSpec): Promise<void> {
    this.target ??= await this.engine.ensure();
    const offline = this.engine.ours() && !spec.buildArgs?.BASE_IMAGE;
    const s = offline ? { ...spec, buildArgs: { ...spec.buildArgs, BASE_IMAGE: await this.engine.debianBase() } } : spec;
    await step(this.log, `docker build ${spec.tag}`, () => dockerBuild(this.target!, s, { quiet: true, networkHost: this.engine.ours() }));
  }

  /**
   * Deletes the profile if this provider started it. The registry and the project's dockerd go
   * too, unless other containers still run on that engine (a kind cluster kept by `./dev up`).
   */
  async down(): Promise<void> {
    this.target ??= await this.engine.current();
    if (!this.target) return;
    if (existsSync(this.marker)) {
      await step(this.log, `minikube delete -p ${this.profile}`, async () => {
        await this.mk()`${minikubeBinary()} delete -p ${this.profile}`;
      });
      rmSync(this.marker, { force: true });
      rmSync(this.kubeconfig, { force: true });
    } else {
      this.log(`not deleting minikube profile ${this.profile}: this provider did not start it`);
    }
    const others = (await $({ quiet: true, env: this.env() })`${this.target.bin} ps --format {{.Names}}`.nothrow()).stdout
      .split("\n").map((n) => n.trim()).filter((n) => n && n !== "mlflow-k8s-registry");
    if (others.length) {
      this.log(`leaving the local registry and the Docker engine up: other containers run on it (${others.join(", ")})`);
      return;
    }
    await new LocalRegistry(this.target, this.log).down();
    await this.engine.stop();
  }
}

