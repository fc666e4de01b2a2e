/**
 * A local OCI registry for kind, wired in the way kind documents it
 * (https://kind.sigs.k8s.io/docs/user/local-registry/): a registry container published on
 * 127.0.0.1:<port> and attached to kind's network; each node's containerd maps
 * `localhost:<port>` to `http://<container>:5000` (/etc/containerd/certs.d/<host>/hosts.toml);
 * the `local-registry-hosting` ConfigMap in kube-public advertises it (KEP-1755).
 *
 * Images go `docker build` -> `docker push localhost:<port>/...` -> pods pull them; charts go
 * `helm push` -> `helm install oci://localhost:<port>/...`. The registry is the CNCF
 * distribution registry built from the Go module proxy; its data lives under the cache.
 */
import { createConnection } from "node:net";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { DockerTarget } from "../docker.ts";
import { dockerBuild, dockerHasImage, docker$ } from "../docker.ts";
import { cacheRoot } from "../layout.ts";
import { step } from "../log.ts";
import type { Logger } from "../log.ts";

const REGISTRY_DIR = new URL("../../kind/registry/", import.meta.url).pathname;
export const REGISTRY_CONTAINER = "mlflow-k8s-registry";
/** Label on everything this module starts, so it never touches a container it did not make. */
export const OWNER_LABEL = "io.mlflow-k8s.owner=e2e";
export const REGISTRY_IMAGE = "mlflow-k8s/registry:3.0.0";

export function registryPort(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MLFLOW_K8S_REGISTRY_PORT ?? "5001";
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`MLFLOW_K8S_REGISTRY_PORT must be a port number from 1 to 65535, got "${raw}"`);
  return port;
}

/** What the cluster (and docker, helm) call the registry: "localhost:5001". */
export function registryHost(port = registryPort()): string {
  return `localhost:${port}`;
}

/** containerd's hosts.toml for the registry on one node (pure, unit-tested). */
export function renderHostsToml(container = REGISTRY_CONTAINER): string {
  return `[host."http://${container}:5000"]\n  capabilities = ["pull", "resolve"]\n`;
}

/** The KEP-1755 ConfigMap that tells tools where the cluster's local registry is (pure). */
export function renderRegistryConfigMap(host: string): string {
  return [
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata:",
    "  name: local-registry-hosting",
    "  namespace: kube-public",
    "data:",
    "  localRegistryHosting.v1: |",
    `    host: "${host}"`,
    '    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"',
    "",
  ].join("\n");
}

/** Resolves true when something on this machine already accepts connections on 127.0.0.1:port. */
export function portInUse(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
    s.setTimeout(2000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

export class LocalRegistry {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  private readonly target: DockerTarget;
  private readonly log: Logger;

  /** The Debian image the registry image is built FROM (see DockerEngine.debianBase). */
  private readonly base: string;

  constructor(target: DockerTarget, log: Logger, opts: { port?: number; cache?: string; base?: string } = {}) {
    this.target = target;
    this.base = opts.base ?? "debian:bookworm-slim";
    this.log = log;
    this.port = opts.port ?? registryPort();
    this.host = registryHost(this.port);
    this.dataDir = join(opts.cache ?? cacheRoot(), "registry", "data");
  }

  private docker(args: string[]) {
    return docker$(this.target)`${this.target.bin} ${args}`;
  }

  /** "running", "stopped", or undefined (no such container); refuses a container of that name we did not make. */
  async state(): Promise<"running" | "stopped" | undefined> {
    const r = await this.docker(["inspect", "--format", "{{.State.Running}} {{index .Config.Labels \"io.mlflow-k8s.owner\"}}", REGISTRY_CONTAINER]).nothrow();
    if (r.exitCode !== 0) return undefined;
    const [running, owner] = r.stdout.trim().split(" ");
    if (owner !== "e2e") throw new Error(`a container named ${REGISTRY_CONTAINER} exists and was not made by this project: remove or rename it (docker rm -f ${REGISTRY_CONTAINER}) and run again`);
    return running === "true" ? "running" : "stopped";
  }

  private async ensureImage(): Promise<void> {
    if (await dockerHasImage(this.target, REGISTRY_IMAGE)) return;
    const bin = join(cacheRoot(), "go", "bin", "registry");
    if (!existsSync(bin)) throw new Error(`the registry binary is not built (${bin}): run scripts/setup.sh`);
    const work = mkdtempSync(join(cacheRoot(), "registry-build-"));
    try {
      for (const f of ["Dockerfile", "config.yml"]) copyFileSync(join(REGISTRY_DIR, f), join(work, f));
      copyFileSync(bin, join(work, "registry"));
      await dockerBuild(this.target, { context: work, tag: REGISTRY_IMAGE, buildArgs: { BASE_IMAGE: this.base } }, { quiet: true, networkHost: true });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  /**
   * Starts the registry on kind's network (or reuses ours), published on 127.0.0.1; a port
   * taken by something else is a one-line error.
   */
  async up(network: string): Promise<void> {
    const s = await this.state();
    if (s === "running") return;
    if (await portInUse(this.port)) {
      throw new Error(`127.0.0.1:${this.port} is already in use by another program, so the local registry cannot listen there: stop that program, or set MLFLOW_K8S_REGISTRY_PORT to a free port`);
    }
    await step(this.log, `local registry ${this.host} (${REGISTRY_CONTAINER})`, async () => {
      if (s === "stopped") {
        await this.docker(["start", REGISTRY_CONTAINER]);
        return;
      }
      await this.ensureImage();
      mkdirSync(this.dataDir, { recursive: true });
      await this.docker([
        "run", "-d", "--name", REGISTRY_CONTAINER, "--label", OWNER_LABEL, "--network", network,
        "-p", `127.0.0.1:${this.port}:5000`, "-v", `${this.dataDir}:/var/lib/registry`, REGISTRY_IMAGE,
      ]);
    });
  }

  /** Attaches the registry to a Docker network, idempotently (a registry kept from an earlier cluster). */
  async connect(network: string): Promise<void> {
    const r = await this.docker(["network", "connect", network, REGISTRY_CONTAINER]).nothrow();
    if (r.exitCode !== 0 && !/already exists/.test(r.stderr)) throw new Error(`docker network connect ${network} ${REGISTRY_CONTAINER} failed: ${r.stderr.trim()}`);
  }

  /** Points one node's containerd at the registry (read per pull, no restart needed). */
  async configureNode(node: string): Promise<void> {
    const dir = `/etc/containerd/certs.d/${this.host}`;
    await docker$(this.target, { input: renderHostsToml() })`${this.target.bin} exec -i ${node} sh -c ${`mkdir -p '${dir}' && cat > '${dir}/hosts.toml'`}`;
  }

  /** Removes the registry container (its data directory stays as a cache). */
  async down(): Promise<void> {
    if ((await this.state()) === undefined) return;
    await step(this.log, `remove the local registry ${REGISTRY_CONTAINER}`, async () => {
      await this.docker(["rm", "-f", REGISTRY_CONTAINER]);
    });
  }
}
