/**
 * `minikube` provider: a profile started with the docker driver, images loaded with
 * `minikube image load`, deleted only if this provider started it.
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
import { cliVersion } from "./kind.ts";
import type { CliProviderOptions } from "./kind.ts";

export class MinikubeProvider implements ClusterProvider {
  readonly name = "minikube" as const;
  readonly profile: string;
  private readonly stateDir: string;
  private readonly createArgs: string[];
  private readonly log: Logger;

  constructor(opts: CliProviderOptions = {}) {
    this.profile = opts.clusterName ?? process.env.MLFLOW_K8S_MINIKUBE_PROFILE ?? "mlflow-k8s";
    this.stateDir = opts.stateDir ?? join(cacheRoot(), "minikube");
    this.createArgs = opts.createArgs ?? ["--driver=docker"];
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
      this.log(`reusing minikube profile ${this.profile}`);
      await $({ quiet: true, env: this.env() })`minikube update-context -p ${this.profile}`;
    } else {
      await step(this.log, `minikube start -p ${this.profile}`, async () => {
        await $({ env: this.env() })`minikube start -p ${this.profile} --wait=all ${this.createArgs}`;
        writeFileSync(this.marker, new Date().toISOString() + "\n");
      });
    }
    const ip = (await $({ quiet: true, env: this.env() })`minikube ip -p ${this.profile}`).stdout.trim();
    return { kubeconfig: this.kubeconfig, context: this.profile, nodePortHost: ip || undefined };
  }

  async loadImage(imageRef: string): Promise<void> {
    assertPinnedTag(imageRef);
    await step(this.log, `minikube image load ${imageRef}`, async () => {
      await $({ quiet: true, env: this.env() })`minikube image load ${imageRef} -p ${this.profile}`;
    });
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
