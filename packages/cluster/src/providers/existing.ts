/**
 * `existing` provider: the cluster of one named kubeconfig context (never the ambient
 * current-context: selectProvider refuses it without one). It makes nothing and removes
 * nothing. Images: with a registry (one this machine pushes to and the cluster pulls from,
 * e.g. Artifact Registry for GKE) it builds with the ambient Docker engine and pushes there;
 * without one, a reference that names a registry is taken as pullable, and any other must
 * already be on every node. Host-run services (PostgreSQL, the GCS emulator) need an address
 * of this machine that pods reach, which only the user can name (hostAddressForPods).
 */
import { KubeConfig, CoreV1Api, VersionApi } from "@kubernetes/client-node";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Availability, ClusterInfo, ClusterProvider, ImageBuildSpec } from "../provider.ts";
import { assertPinnedTag } from "../offline-images.ts";
import { ambientDocker, dockerBuild, pushToRegistry } from "../docker.ts";

/** The kubeconfig file the ambient configuration names (first of KUBECONFIG, else ~/.kube/config). */
export function ambientKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = (env.KUBECONFIG ?? "").split(":").find((f) => f && existsSync(f));
  if (fromEnv) return fromEnv;
  const def = join(homedir(), ".kube", "config");
  return existsSync(def) ? def : undefined;
}

/** The first kubeconfig file of the ambient configuration (KUBECONFIG, else ~/.kube/config) that defines `context`. */
export function kubeconfigWithContext(context: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const files = env.KUBECONFIG ? env.KUBECONFIG.split(":").filter(Boolean) : [join(homedir(), ".kube", "config")];
  for (const file of files.filter((f) => existsSync(f))) {
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(file);
    } catch {
      continue;
    }
    if (kc.getContexts().some((c) => c.name === context)) return file;
  }
  return undefined;
}

/** Whether the reference's first path part is a registry host (has a dot or a port, or is localhost), so nodes pull it from there. */
export function namesRegistry(ref: string): boolean {
  const firstPart = ref.split("/")[0] ?? "";
  return ref.includes("/") && (firstPart.includes(".") || firstPart.includes(":") || firstPart === "localhost");
}

/** Names `ref` may appear under in Node.status.images (containerd normalises short names). */
export function imageAliases(ref: string): string[] {
  const out = new Set([ref]);
  if (!namesRegistry(ref)) {
    const path = ref.includes("/") ? ref : `library/${ref}`;
    out.add(`docker.io/${path}`);
  }
  return [...out];
}

export interface ExistingProviderOptions {
  context: string;
  /** Where built images are pushed, e.g. "europe-docker.pkg.dev/proj/repo" or "localhost:5001"; the cluster must pull from it under that name. */
  registry?: string | undefined;
  /** An address of this machine that the cluster's pods reach (for host-run PostgreSQL and the GCS emulator). */
  hostAddressForPods?: string | undefined;
  /** Base image for builds (the Dockerfiles' BASE_IMAGE), where their default cannot be pulled. */
  baseImage?: string | undefined;
}

export class ExistingProvider implements ClusterProvider {
  readonly name = "existing" as const;
  private readonly context: string;
  private readonly options: ExistingProviderOptions;
  /** Only with a registry: a build nothing could pull would be wasted. */
  readonly buildImage?: (spec: ImageBuildSpec) => Promise<void>;

  constructor(options: ExistingProviderOptions) {
    this.context = options.context;
    this.options = options;
    if (options.registry) this.buildImage = (spec) => this.build(spec);
  }

  /** The kubeconfig file holding the context; throws (with the reason) when there is none. */
  private file(): string {
    if (!this.context) throw new Error("no kubeconfig context given: pass --context <name>");
    if (!ambientKubeconfigPath()) throw new Error("no kubeconfig: set KUBECONFIG or create ~/.kube/config");
    const file = kubeconfigWithContext(this.context);
    if (!file) throw new Error(`no kubeconfig context named "${this.context}" (kubectl config get-contexts lists them)`);
    return file;
  }

  private kc(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.file());
    kc.setCurrentContext(this.context);
    return kc;
  }

  async available(): Promise<Availability> {
    let kc: KubeConfig;
    try {
      kc = this.kc();
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
    // Name the server too: whoever runs this should see which cluster is about to be used.
    const ctx = `${this.context} (server ${kc.getCurrentCluster()?.server ?? "?"})`;
    try {
      const api = kc.makeApiClient(VersionApi);
      await withTimeout(api.getCode(), 5000, `the API server of context ${ctx} did not answer within 5s`);
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: `context ${ctx} is not reachable: ${(e as Error).message}` };
    }
  }

  async toolVersions(): Promise<Record<string, string>> {
    try {
      const v = await this.kc().makeApiClient(VersionApi).getCode();
      return { kubernetes: v.gitVersion };
    } catch {
      return {};
    }
  }

  async up(): Promise<ClusterInfo> {
    // The registry is not passed on as ClusterInfo.registry: the e2e would push the chart there
    // over plain HTTP, which only a local registry speaks. The chart is installed from its directory.
    return { kubeconfig: this.file(), context: this.context, ...(this.options.hostAddressForPods ? { hostAddressForPods: this.options.hostAddressForPods } : {}) };
  }

  /** docker build with the ambient engine (DOCKER_HOST is honoured), on the host's network. */
  private async build(spec: ImageBuildSpec): Promise<void> {
    const base = this.options.baseImage;
    await dockerBuild(ambientDocker, base && !spec.buildArgs?.BASE_IMAGE ? { ...spec, buildArgs: { ...spec.buildArgs, BASE_IMAGE: base } } : spec, { quiet: true, networkHost: true });
  }

  async loadImage(imageRef: string): Promise<string> {
    assertPinnedTag(imageRef);
    const registry = this.options.registry;
    if (registry && !imageRef.startsWith(`${registry}/`)) {
      return pushToRegistry(ambientDocker, imageRef, registry);
    }
    // Pulled by the nodes from the registry it names (a pull failure shows on the pods).
    if (namesRegistry(imageRef)) return imageRef;
    const nodes = await this.kc().makeApiClient(CoreV1Api).listNode();
    const names = new Set(imageAliases(imageRef));
    const missing = nodes.items.filter((n) => !(n.status?.images ?? []).some((i) => (i.names ?? []).some((x) => names.has(x))));
    if (missing.length) {
      throw new Error(
        `the existing provider cannot load images, and ${imageRef} is not on node(s) ${missing.map((n) => n.metadata?.name).join(", ")}: ` +
          `push it to a registry the cluster pulls from and pass that reference, or give --registry, or use --provider kind|minikube|local`,
      );
    }
    return imageRef;
  }

  async down(): Promise<void> {
    /* nothing was made */
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, msg: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(msg)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}
