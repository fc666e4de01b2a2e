/**
 * `minikube` provider: a profile started with the docker driver, images loaded with
 * `minikube image load`, deleted only if this provider started it.
 */
import { $ } from "zx";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Availability, ClusterInfo, ClusterProvider, ImageBuildSpec } from "../provider.ts";
import { cacheRoot } from "../layout.ts";
import { assertPinnedTag } from "../offline-images.ts";
import { ambientDocker, dockerBuild } from "../docker.ts";
import { stderrLogger, step } from "../log.ts";
import type { Logger } from "../log.ts";
import { cliVersion } from "./kind.ts";
import { hasFlag, minikubeVersionArgs, parseDockerNetworkGateway, parseHostsLookup } from "../hostaddr.ts";

/** The name minikube writes into the node's /etc/hosts (and CoreDNS) for the host. */
export const MINIKUBE_HOST_NAME = "host.minikube.internal";
import type { CliProviderOptions } from "./kind.ts";

export class MinikubeProvider implements ClusterProvider {
  readonly name = "minikube" as const;
  readonly profile: string;
  private readonly stateDir: string;
  readonly createArgs: string[];
  private readonly log: Logger;

  constructor(opts: CliProviderOptions = {}) {
    this.profile = opts.clusterName ?? process.env.MLFLOW_K8S_MINIKUBE_PROFILE ?? "mlflow-k8s";
    this.stateDir = opts.stateDir ?? join(cacheRoot(), "minikube");
    const args = opts.createArgs ?? ["--driver=docker"];
    const version = opts.kubernetesVersion ?? process.env.KUBERNETES_VERSION;
    this.createArgs = hasFlag(args, "--kubernetes-version") ? args : [...args, ...minikubeVersionArgs(version)];
    this.log = opts.log ?? stderrLogger("minikube");
  }

  get kubeconfig(): string {
    return join(this.stateDir, `${this.profile}.kubeconfig`);
  }
  private get marker(): string {
    return join(this.stateDir, `${this.profile}.created`);
  }
  /** minikube writes the context into the file named by KUBECONFIG. */
  private env() {
    return { ...process.env, KUBECONFIG: this.kubeconfig };
  }

  async available(): Promise<Availability> {
    if (!(await cliVersion(["minikube", "version", "--short"]))) return { ok: false, reason: "minikube is not on PATH (https://minikube.sigs.k8s.io/docs/start/; in GitHub Actions: medyagh/setup-minikube)" };
    const d = await $({ quiet: true, timeout: "20s" })`docker info --format {{.ServerVersion}}`.nothrow();
    if (d.exitCode !== 0) return { ok: false, reason: "minikube's docker driver needs a running Docker engine, and `docker info` failed" };
    return { ok: true };
  }

  async toolVersions(): Promise<Record<string, string>> {
    const v: Record<string, string> = {};
    const m = await cliVersion(["minikube", "version", "--short"]);
    if (m) v.minikube = m;
    return v;
  }

  private async running(): Promise<boolean> {
    const r = await $({ quiet: true, env: this.env() })`minikube status -p ${this.profile} --format {{.APIServer}}`.nothrow();
    return r.exitCode === 0 && r.stdout.trim() === "Running";
  }

  async up(): Promise<ClusterInfo> {
    mkdirSync(this.stateDir, { recursive: true });
    if (await this.running()) {
      this.log(`reusing minikube profile ${this.profile} (start flags not applied: ${this.createArgs.join(" ")})`);
      await $({ quiet: true, env: this.env() })`minikube update-context -p ${this.profile}`;
    } else {
      await step(this.log, `minikube start -p ${this.profile}`, async () => {
        await $({ env: this.env() })`minikube start -p ${this.profile} --wait=all ${this.createArgs}`;
        writeFileSync(this.marker, new Date().toISOString() + "\n");
      });
    }
    const ip = (await $({ quiet: true, env: this.env() })`minikube ip -p ${this.profile}`).stdout.trim();
    return { kubeconfig: this.kubeconfig, context: this.profile, nodePortHost: ip || undefined, hostAddressForPods: await this.hostAddressForPods() };
  }

  /**
   * The address pods reach this machine at: what minikube itself resolved as
   * host.minikube.internal and wrote into the node's /etc/hosts (for the docker driver, the
   * gateway of the profile's Docker network, e.g. 192.168.49.1). Falls back to that gateway
   * from `docker network inspect <profile>` if the ssh lookup fails.
   */
  async hostAddressForPods(): Promise<string> {
    const r = await $({ quiet: true, env: this.env(), timeout: "60s" })`minikube ssh -p ${this.profile} -- getent hosts ${MINIKUBE_HOST_NAME}`.nothrow();
    const fromNode = r.exitCode === 0 ? parseHostsLookup(r.stdout, MINIKUBE_HOST_NAME) : undefined;
    if (fromNode) return fromNode;
    const n = await $({ quiet: true, timeout: "20s" })`docker network inspect ${this.profile}`.nothrow();
    const gw = n.exitCode === 0 ? parseDockerNetworkGateway(n.stdout) : undefined;
    if (gw) {
      this.log(`${MINIKUBE_HOST_NAME} lookup on the node failed (exit ${r.exitCode}); using the gateway of Docker network ${this.profile}: ${gw}`);
      return gw;
    }
    throw new Error(
      `cannot tell the host address for pods: \`minikube ssh -- getent hosts ${MINIKUBE_HOST_NAME}\` gave ${JSON.stringify((r.stdout + r.stderr).trim().slice(0, 200))} and Docker network ${this.profile} has no IPv4 gateway`,
    );
  }

  async loadImage(imageRef: string): Promise<string> {
    assertPinnedTag(imageRef);
    await step(this.log, `minikube image load ${imageRef}`, async () => {
      await $({ quiet: true, env: this.env() })`minikube image load ${imageRef} -p ${this.profile}`;
    });
    return imageRef;
  }

  async buildImage(spec: ImageBuildSpec): Promise<void> {
    await step(this.log, `docker build ${spec.tag}`, () => dockerBuild(ambientDocker, spec));
  }

  async down(): Promise<void> {
    if (!existsSync(this.marker)) {
      this.log(`not deleting minikube profile ${this.profile}: this provider did not start it`);
      return;
    }
    await step(this.log, `minikube delete -p ${this.profile}`, async () => {
      await $({ quiet: true, env: this.env() })`minikube delete -p ${this.profile}`;
    });
    rmSync(this.marker, { force: true });
    rmSync(this.kubeconfig, { force: true });
  }
}
