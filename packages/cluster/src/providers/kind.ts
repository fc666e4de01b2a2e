/**
 * `kind` provider: a kind cluster with a local OCI registry, as kind documents it. Runs the
 * same way on GitHub runners, laptops and our build machines; only two things differ where no
 * Docker engine runs and no registry outside is reachable (ours), and both are decided
 * without probing the network:
 *   - the Docker engine: the ambient one if `docker info` answers, else the project's own
 *     dockerd (kind/engine.ts);
 *   - the node image: kind's published kindest/node by default; built from source here
 *     (kind/nodeimage.ts) when the engine is the project's own, or when
 *     MLFLOW_K8S_KIND_NODE_IMAGE=build. MLFLOW_K8S_KIND_NODE_IMAGE=<ref> uses that image.
 * Images reach pods by `docker push localhost:<port>/...` and a pull from the registry;
 * MLflow's NodePort is published on 127.0.0.1. Deletes only a cluster it created.
 */
import { $ } from "zx";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Availability, ClusterInfo, ClusterProvider, ImageBuildSpec } from "../provider.ts";
import { COREDNS_VERSION, cacheRoot } from "../layout.ts";
import { assertPinnedTag } from "../offline-images.ts";
import type { DockerTarget } from "../docker.ts";
import { dockerBuild, dockerHasImage, pushToRegistry, registryRef } from "../docker.ts";
import { stderrLogger, step } from "../log.ts";
import type { Logger } from "../log.ts";
import { hasFlag, kindVersionArgs, parseDockerNetworkGateway } from "../hostaddr.ts";
import { DockerEngine } from "../kind/engine.ts";
import { LocalRegistry, renderRegistryConfigMap } from "../kind/registry.ts";
import { defaultNodePorts, renderKindConfig } from "../kind/config.ts";
import { defaultParts, ensureNodeImage } from "../kind/nodeimage.ts";
import { POD_CIDR, containPodTraffic } from "../podnet.ts";

export interface CliProviderOptions {
  /** Cluster (kind) or profile (minikube) name. */
  clusterName?: string;
  /** Where the kubeconfig and the "we created it" marker live. */
  stateDir?: string;
  /** Extra CLI flags for create/start, e.g. ["--image", "kindest/node:v1.34.0"]. */
  createArgs?: string[];
  /**
   * Kubernetes version to create, e.g. "v1.33.7" (default: env KUBERNETES_VERSION, as the
   * e2e.yml matrix sets it; unset: the tool's default). Ignored when createArgs already pick
   * one (kind --image, minikube --kubernetes-version).
   */
  kubernetesVersion?: string;
  log?: Logger;
}

export interface KindProviderOptions extends CliProviderOptions {
  /** NodePorts published on 127.0.0.1 (default: MLFLOW_K8S_NODE_PORT or 30080, and the port after it). */
  nodePorts?: number[];
  /** "build", "kind" or an image reference (default: env MLFLOW_K8S_KIND_NODE_IMAGE; unset: see the file comment). */
  nodeImage?: string;
  engine?: DockerEngine;
}

export async function cliVersion(cmd: string[], env?: Record<string, string>): Promise<string | undefined> {
  const r = await $({ quiet: true, timeout: "20s", env: { ...process.env, ...env } })`${cmd}`.nothrow();
  return r.exitCode === 0 ? (r.stdout + r.stderr).trim().split("\n")[0] : undefined;
}

/** kind itself: on PATH, or built by scripts/setup.sh into the cache. */
export function kindBinary(): string {
  const built = join(cacheRoot(), "go", "bin", "kind");
  return existsSync(built) ? built : "kind";
}

export class KindProvider implements ClusterProvider {
  readonly name = "kind" as const;
  readonly clusterName: string;
  private readonly stateDir: string;
  private readonly userArgs: string[];
  private readonly version: string | undefined;
  readonly nodePorts: number[];
  private readonly nodeImageSetting: string | undefined;
  /** The Docker network kind puts its nodes on (kind's KIND_EXPERIMENTAL_DOCKER_NETWORK, default "kind"). */
  readonly network: string;
  readonly engine: DockerEngine;
  private readonly log: Logger;
  private target?: DockerTarget;
  private registry?: LocalRegistry;

  constructor(opts: KindProviderOptions = {}) {
    this.clusterName = opts.clusterName ?? process.env.MLFLOW_K8S_KIND_CLUSTER ?? "mlflow-k8s";
    this.stateDir = opts.stateDir ?? join(cacheRoot(), "kind");
    this.userArgs = opts.createArgs ?? [];
    this.version = opts.kubernetesVersion ?? process.env.KUBERNETES_VERSION;
    this.nodePorts = opts.nodePorts ?? defaultNodePorts();
    this.nodeImageSetting = opts.nodeImage ?? (process.env.MLFLOW_K8S_KIND_NODE_IMAGE || undefined);
    this.network = process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK || "kind";
    this.log = opts.log ?? stderrLogger("kind");
    this.engine = opts.engine ?? new DockerEngine(this.log);
  }

  get kubeconfig(): string {
    return join(this.stateDir, `${this.clusterName}.kubeconfig`);
  }
  private get marker(): string {
    return join(this.stateDir, `${this.clusterName}.created`);
  }
  get controlPlane(): string {
    return `${this.clusterName}-control-plane`;
  }

  private env(): Record<string, string> {
    return { ...(process.env as Record<string, string>), ...(this.target?.env ?? {}) };
  }

  async available(): Promise<Availability> {
    if (!(await cliVersion([kindBinary(), "version"]))) {
      return { ok: false, reason: "kind is not on PATH (scripts/setup.sh builds it: `go install sigs.k8s.io/kind@v0.31.0`; in GitHub Actions: the same, or helm/kind-action)" };
    }
    const why = await this.engine.unavailableReason();
    return why ? { ok: false, reason: `kind needs a Docker engine: ${why}` } : { ok: true };
  }

  async toolVersions(): Promise<Record<string, string>> {
    const v: Record<string, string> = {};
    const kind = await cliVersion([kindBinary(), "version"]);
    if (kind) v.kind = kind;
    const t = await this.engine.current();
    const docker = t ? await cliVersion([t.bin, "version", "--format", "{{.Server.Version}}"], t.env) : undefined;
    if (docker) v.docker = `${docker}${this.engine.ours() ? " (the project's own dockerd)" : ""}`;
    return v;
  }

  /** kind's create flags: the node image (kind's, ours, or the user's) unless --image was given. */
  async createArgs(): Promise<string[]> {
    if (hasFlag(this.userArgs, "--image")) return this.userArgs;
    const setting = this.nodeImageSetting ?? (this.engine.ours() ? "build" : "kind");
    if (setting === "kind") return [...this.userArgs, ...kindVersionArgs(this.version)];
    if (setting !== "build") {
      // kind pulls a node image it does not find; where the engine is ours nothing can be pulled.
      if (this.engine.ours() && this.target && !(await dockerHasImage(this.target, setting))) {
        throw new Error(`MLFLOW_K8S_KIND_NODE_IMAGE=${setting} is not in the project's Docker engine and no registry is reachable to pull it: unset MLFLOW_K8S_KIND_NODE_IMAGE (or set it to "build") to build the node image here`);
      }
      return [...this.userArgs, "--image", setting];
    }
    const cache = cacheRoot();
    const parts = defaultParts(cache);
    if (this.version && this.version.replace(/^v?/, "v") !== parts.kubernetesVersion) {
      throw new Error(`KUBERNETES_VERSION=${this.version}, but the node image built here is Kubernetes ${parts.kubernetesVersion}: unset KUBERNETES_VERSION, or use kind's published image (MLFLOW_K8S_KIND_NODE_IMAGE=kind)`);
    }
    const corednsVersion = process.env.MLFLOW_K8S_KIND_COREDNS_VERSION ?? COREDNS_VERSION;
    const built = await ensureNodeImage(this.target!, await this.engine.debianBase(), { ...parts, coredns: join(parts.corednsDir, corednsVersion, "bin", "coredns") }, this.log);
    this.log(`node image ${built.ref}${built.cached ? " (cached)" : ""}`);
    return [...this.userArgs, "--image", built.ref];
  }

  private argsOnce?: Promise<string[]>;
  /** createArgs() once per up(): it may hash every node-image input, and the stale check and create both need it. */
  private plannedArgs(): Promise<string[]> {
    return (this.argsOnce ??= this.createArgs());
  }

  private async exists(): Promise<boolean> {
    const r = await $({ quiet: true, env: this.env() })`${kindBinary()} get clusters`.nothrow();
    return r.stdout.split("\n").map((l) => l.trim()).includes(this.clusterName);
  }

  /** True when the node container runs and the API server answers through the kubeconfig. */
  private async healthy(): Promise<boolean> {
    const running = await $({ quiet: true, env: this.env() })`${this.target!.bin} inspect --format {{.State.Running}} ${this.controlPlane}`.nothrow();
    if (running.stdout.trim() !== "true") return false;
    await $({ quiet: true, env: this.env() })`${kindBinary()} export kubeconfig --name ${this.clusterName} --kubeconfig ${this.kubeconfig}`.nothrow();
    const r = await $({ quiet: true, timeout: "20s" })`kubectl --kubeconfig ${this.kubeconfig} get --raw /readyz`.nothrow();
    return r.exitCode === 0;
  }

  async up(): Promise<ClusterInfo> {
    mkdirSync(this.stateDir, { recursive: true });
    this.argsOnce = undefined;
    this.target = await this.engine.ensure();
    this.registry = new LocalRegistry(this.target, this.log, { base: await this.engine.debianBase() });
    if (await this.exists()) {
      const stale = this.createdWithOtherConfig() ?? (await this.nodeImageChanged());
      if (stale && existsSync(this.marker)) {
        this.log(`kind cluster ${this.clusterName} was created with another configuration (${stale}): deleting and recreating it`);
        await $({ quiet: true, env: this.env() })`${kindBinary()} delete cluster --name ${this.clusterName}`;
        await this.create();
      } else if (await this.healthy()) {
        this.log(`reusing kind cluster ${this.clusterName} (its NodePorts and node image are as created)`);
      } else if (existsSync(this.marker)) {
        this.log(`kind cluster ${this.clusterName} (made by an earlier run) is not healthy: deleting and recreating it`);
        await $({ quiet: true, env: this.env() })`${kindBinary()} delete cluster --name ${this.clusterName}`;
        await this.create();
      } else {
        throw new Error(`kind cluster ${this.clusterName} exists, is not healthy and was not made by this project: delete it (kind delete cluster --name ${this.clusterName}) or set MLFLOW_K8S_KIND_CLUSTER to another name`);
      }
    } else {
      await this.create();
    }
    const nodes = (await $({ quiet: true, env: this.env() })`${kindBinary()} get nodes --name ${this.clusterName}`).stdout.split("\n").map((n) => n.trim()).filter(Boolean);
    // Every up, a reused cluster too: a deleted pod's address must fail on the node, not leave this machine.
    await step(this.log, `route the pod range ${POD_CIDR} as unreachable on ${nodes.join(", ")}`, async () => {
      for (const n of nodes) await containPodTraffic(this.target!, n);
    });
    await this.registry.up(this.network);
    await step(this.log, `wire the local registry ${this.registry.host} into the cluster`, async () => {
      await this.registry!.connect(this.network);
      for (const n of nodes) await this.registry!.configureNode(n);
      await $({ quiet: true, input: renderRegistryConfigMap(this.registry!.host) })`kubectl --kubeconfig ${this.kubeconfig} apply -f -`;
    });
    return {
      kubeconfig: this.kubeconfig,
      context: `kind-${this.clusterName}`,
      nodePortHost: "127.0.0.1",
      hostAddressForPods: await this.hostAddressForPods(),
      registry: this.registry.host,
      nodePorts: this.nodePorts,
    };
  }

  private get configFile(): string {
    return join(this.stateDir, `${this.clusterName}.config.yaml`);
  }

  /** Why the cluster we made no longer matches what we would create now (its NodePorts), or undefined. */
  private createdWithOtherConfig(): string | undefined {
    if (!existsSync(this.configFile)) return undefined;
    return readFileSync(this.configFile, "utf8") === renderKindConfig({ nodePorts: this.nodePorts }) ? undefined : `published NodePorts now ${this.nodePorts.join(", ")}`;
  }

  /**
   * Why the cluster's node runs another image than we would create it with now (a node image
   * rebuilt since, because an input changed), or undefined. Only asked where the choice is a
   * built or named image; kind's own image follows KUBERNETES_VERSION, as kind create does.
   */
  private async nodeImageChanged(): Promise<string | undefined> {
    const args = await this.plannedArgs();
    const i = args.indexOf("--image");
    if (i < 0 || hasFlag(this.userArgs, "--image")) return undefined;
    const want = args[i + 1];
    const r = await $({ quiet: true, env: this.env() })`${this.target!.bin} inspect --format {{.Config.Image}} ${this.controlPlane}`.nothrow();
    const running = r.stdout.trim();
    return r.exitCode === 0 && running && running !== want ? `its node runs ${running}, the node image now is ${want}` : undefined;
  }

  private async create(): Promise<void> {
    const args = await this.plannedArgs();
    const config = this.configFile;
    writeFileSync(config, renderKindConfig({ nodePorts: this.nodePorts }));
    await step(this.log, `kind create cluster ${this.clusterName} ${args.join(" ")}`, async () => {
      await $({ env: this.env() })`${kindBinary()} create cluster --name ${this.clusterName} --kubeconfig ${this.kubeconfig} --config ${config} --wait 300s ${args}`;
      writeFileSync(this.marker, new Date().toISOString() + "\n");
    });
  }

  /**
   * The gateway of kind's Docker network: this machine's address on the bridge the node
   * containers sit on; pod traffic to it leaves the node (masqueraded by kindnet, or by the ptp CNI config of the node image built here) and
   * arrives on the host. Host services for pods must listen on it (or 0.0.0.0).
   */
  async hostAddressForPods(): Promise<string> {
    const r = await $({ quiet: true, timeout: "20s", env: this.env() })`${this.target?.bin ?? "docker"} network inspect ${this.network}`.nothrow();
    const gw = r.exitCode === 0 ? parseDockerNetworkGateway(r.stdout) : undefined;
    if (!gw) throw new Error(`cannot tell the host address for pods: no IPv4 gateway in \`docker network inspect ${this.network}\` (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
    return gw;
  }

  /** Pushes a locally built image to the local registry; pods pull it as the returned reference. */
  async loadImage(imageRef: string): Promise<string> {
    assertPinnedTag(imageRef);
    const registry = this.registry ?? new LocalRegistry((this.target ??= await this.engine.ensure()), this.log);
    return step(this.log, `docker push ${registryRef(imageRef, registry.host)}`, () => pushToRegistry(this.target!, imageRef, registry.host));
  }

  /** docker build on the engine kind uses; FROM our debootstrap Debian where that engine is ours (no registry to pull a base from). */
  async buildImage(spec: ImageBuildSpec): Promise<void> {
    this.target ??= await this.engine.ensure();
    const offline = this.engine.ours() && !spec.buildArgs?.BASE_IMAGE;
    const s = offline ? { ...spec, buildArgs: { ...spec.buildArgs, BASE_IMAGE: await this.engine.debianBase() } } : spec;
    await step(this.log, `docker build ${spec.tag}`, () => dockerBuild(this.target!, s, { quiet: true, networkHost: this.engine.ours() }));
  }

  async down(): Promise<void> {
    this.target ??= await this.engine.current();
    if (this.target && existsSync(this.marker)) {
      await step(this.log, `kind delete cluster ${this.clusterName}`, async () => {
        await $({ quiet: true, env: this.env() })`${kindBinary()} delete cluster --name ${this.clusterName} --kubeconfig ${this.kubeconfig}`;
      });
      rmSync(this.marker, { force: true });
      rmSync(this.kubeconfig, { force: true });
    } else if (this.target && (await this.exists())) {
      this.log(`not deleting kind cluster ${this.clusterName}: this provider did not create it`);
    }
    if (this.target) await new LocalRegistry(this.target, this.log).down();
    await this.engine.stop();
  }
}
