/**
 * `kind` provider (GitHub Actions and developer machines with Docker): creates a kind
 * cluster, loads images with `kind load docker-image`, deletes only a cluster it created.
 */
import { $ } from "zx";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Availability, ClusterInfo, ClusterProvider, ImageBuildSpec } from "../provider.ts";
import { cacheRoot } from "../local/layout.ts";
import { assertPinnedTag } from "../local/images.ts";
import { ambientDocker, dockerBuild } from "../docker.ts";
import { stderrLogger, step } from "../log.ts";
import type { Logger } from "../log.ts";
import { hasFlag, kindVersionArgs, parseDockerNetworkGateway } from "../hostaddr.ts";

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

export async function cliVersion(cmd: string[]): Promise<string | undefined> {
  const r = await $({ quiet: true, timeout: "20s" })`${cmd}`.nothrow();
  return r.exitCode === 0 ? (r.stdout + r.stderr).trim().split("\n")[0] : undefined;
}

export class KindProvider implements ClusterProvider {
  readonly name = "kind" as const;
  readonly clusterName: string;
  private readonly stateDir: string;
  readonly createArgs: string[];
  /** The Docker network kind puts its nodes on (kind's KIND_EXPERIMENTAL_DOCKER_NETWORK, default "kind"). */
  readonly network: string;
  private readonly log: Logger;

  constructor(opts: CliProviderOptions = {}) {
    this.clusterName = opts.clusterName ?? process.env.MLFLOW_K8S_KIND_CLUSTER ?? "mlflow-k8s";
    this.stateDir = opts.stateDir ?? join(cacheRoot(), "kind");
    const args = opts.createArgs ?? [];
    const version = opts.kubernetesVersion ?? process.env.KUBERNETES_VERSION;
    this.createArgs = hasFlag(args, "--image") ? args : [...args, ...kindVersionArgs(version)];
    this.network = process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK || "kind";
    this.log = opts.log ?? stderrLogger("kind");
  }

  get kubeconfig(): string {
    return join(this.stateDir, `${this.clusterName}.kubeconfig`);
  }
  private get marker(): string {
    return join(this.stateDir, `${this.clusterName}.created`);
  }

  async available(): Promise<Availability> {
    if (!(await cliVersion(["kind", "version"]))) return { ok: false, reason: "kind is not on PATH (https://kind.sigs.k8s.io/docs/user/quick-start/#installation; in GitHub Actions: helm/kind-action or `go install sigs.k8s.io/kind@v0.30.0`)" };
    const d = await $({ quiet: true, timeout: "20s" })`docker info --format {{.ServerVersion}}`.nothrow();
    if (d.exitCode !== 0) return { ok: false, reason: "kind needs a running Docker engine, and `docker info` failed" };
    return { ok: true };
  }

  async toolVersions(): Promise<Record<string, string>> {
    const v: Record<string, string> = {};
    const kind = await cliVersion(["kind", "version"]);
    const docker = await cliVersion(["docker", "version", "--format", "{{.Server.Version}}"]);
    if (kind) v.kind = kind;
    if (docker) v.docker = docker;
    return v;
  }

  private async exists(): Promise<boolean> {
    const r = await $({ quiet: true })`kind get clusters`.nothrow();
    return r.stdout.split("\n").map((l) => l.trim()).includes(this.clusterName);
  }

  async up(): Promise<ClusterInfo> {
    mkdirSync(this.stateDir, { recursive: true });
    if (await this.exists()) {
      this.log(`reusing kind cluster ${this.clusterName} (create flags not applied: ${this.createArgs.join(" ") || "none"})`);
      await $({ quiet: true })`kind export kubeconfig --name ${this.clusterName} --kubeconfig ${this.kubeconfig}`;
    } else {
      await step(this.log, `kind create cluster ${this.clusterName}`, async () => {
        await $`kind create cluster --name ${this.clusterName} --kubeconfig ${this.kubeconfig} --wait 180s ${this.createArgs}`;
        writeFileSync(this.marker, new Date().toISOString() + "\n");
      });
    }
    // NodePorts: reachable on the node container's address (discovered from the Node).
    return { kubeconfig: this.kubeconfig, context: `kind-${this.clusterName}`, hostAddressForPods: await this.hostAddressForPods() };
  }

  /**
   * The gateway of kind's Docker network: this machine's address on the bridge the node
   * containers sit on; pod traffic to it leaves the node (masqueraded by kindnet) and
   * arrives on the host. Host services for pods must listen on it (or 0.0.0.0).
   */
  async hostAddressForPods(): Promise<string> {
    const r = await $({ quiet: true, timeout: "20s" })`docker network inspect ${this.network}`.nothrow();
    const gw = r.exitCode === 0 ? parseDockerNetworkGateway(r.stdout) : undefined;
    if (!gw) throw new Error(`cannot tell the host address for pods: no IPv4 gateway in \`docker network inspect ${this.network}\` (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
    return gw;
  }

  async loadImage(imageRef: string): Promise<void> {
    assertPinnedTag(imageRef);
    await step(this.log, `kind load docker-image ${imageRef}`, async () => {
      await $({ quiet: true })`kind load docker-image ${imageRef} --name ${this.clusterName}`;
    });
  }

  async buildImage(spec: ImageBuildSpec): Promise<void> {
    await step(this.log, `docker build ${spec.tag}`, () => dockerBuild(ambientDocker, spec));
  }

  async down(): Promise<void> {
    if (!existsSync(this.marker)) {
      this.log(`not deleting kind cluster ${this.clusterName}: this provider did not create it`);
      return;
    }
    await step(this.log, `kind delete cluster ${this.clusterName}`, async () => {
      await $({ quiet: true })`kind delete cluster --name ${this.clusterName} --kubeconfig ${this.kubeconfig}`;
    });
    rmSync(this.marker, { force: true });
    rmSync(this.kubeconfig, { force: true });
  }
}
