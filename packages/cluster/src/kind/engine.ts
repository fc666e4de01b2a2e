/**
 * The Docker engine kind runs on. Where a Docker engine already answers (GitHub runners,
 * laptops), that one is used as it is. Where none runs (our build machines: Debian's docker.io
 * installed, no daemon), the project starts its own dockerd, with its own socket, exec root
 * and data root (kept under the cache, so built images survive `down`), and stops it again.
 *
 * On hosts whose capability bounding set lacks CAP_SYS_RESOURCE (ours), a privileged
 * container (every kind node) fails with "runc create failed: unable to apply caps:
 * operation not permitted". There the project dockerd's default runtime is
 * runc-without-sys-resource, a wrapper that drops that one capability from the OCI spec; the
 * node image's entrypoint makes the same choice for the node's containerd.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DockerTarget } from "../docker.ts";
import { ambientDocker, docker$, dockerHasImage } from "../docker.ts";
import { runningPid, startDetached, stopManaged } from "../procs.ts";
import { FatalWaitError, step, waitFor } from "../log.ts";
import type { Logger } from "../log.ts";
import { DEBIAN_BASE_IMAGE, cacheRoot } from "../layout.ts";
import { buildDebianBaseImage } from "../offline-images.ts";

const DOCKERD = "/usr/sbin/dockerd";
/** The wrapper shipped in the node image's files; the host dockerd uses the same file. */
export const RUNC_WRAPPER = new URL("../../kind/node-image/files/usr/local/bin/runc-without-sys-resource", import.meta.url).pathname;
const CAP_SYS_RESOURCE = 24;

/** Whether a capability is in this process's bounding set (/proc/self/status CapBnd, hex). */
export function inBoundingSet(statusText: string, cap: number): boolean {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(statusText);
  if (!m?.[1]) return true;
  return ((BigInt(`0x${m[1]}`) >> BigInt(cap)) & 1n) === 1n;
}

export function needsRuncWrapper(): boolean {
  return !inBoundingSet(readFileSync("/proc/self/status", "utf8"), CAP_SYS_RESOURCE);
}

export interface EngineLayout {
  dir: string;
  dataRoot: string;
  execRoot: string;
  socket: string;
  run: string;
  logs: string;
  config: string;
}

export function engineLayout(cache = cacheRoot()): EngineLayout {
  const dir = join(cache, "kind-docker");
  return {
    dir,
    dataRoot: join(dir, "data"),
    // Short paths: containerd's shim sockets live under the exec root (108-byte limit).
    execRoot: "/run/mlflow-k8s-docker",
    socket: "/run/mlflow-k8s-docker.sock",
    run: join(dir, "run"),
    logs: join(dir, "logs"),
    config: join(dir, "daemon.json"),
  };
}

/** dockerd's flags for the project engine (pure, unit-tested). */
export function dockerdArgs(l: EngineLayout, opts: { runcWrapper?: string }): string[] {
  const args = [
    `--data-root=${l.dataRoot}`,
    `--exec-root=${l.execRoot}`,
    `--pidfile=${join(l.run, "dockerd.real.pid")}`,
    `--host=unix://${l.socket}`,
    // Never read /etc/docker/daemon.json: everything this engine does is in our own file.
    `--config-file=${l.config}`,
    "--storage-driver=overlay2",
    // No default bridge (docker0): kind's nodes and the registry live on kind's own network,
    // builds use the host's network; nothing of ours depends on a shared host interface.
    "--bridge=none",
    // Every container in its own cgroup namespace (kind asks for it per node; minikube cannot
    // ask): a node's systemd then sees its own cgroup tree as the root on cgroup v1 hosts too.
    "--default-cgroupns-mode=private",
  ];
  if (opts.runcWrapper) args.push(`--add-runtime=runc-without-sys-resource=${opts.runcWrapper}`, "--default-runtime=runc-without-sys-resource");
  return args;
}

export class DockerEngine {
  readonly layout: EngineLayout;
  private readonly log: Logger;
  private target?: DockerTarget;

  constructor(log: Logger, layout?: EngineLayout) {
    this.log = log;
    this.layout = layout ?? engineLayout();
  }

  private get ownTarget(): DockerTarget {
    return { bin: "docker", env: { DOCKER_HOST: `unix://${this.layout.socket}` } };
  }

  /** True when this project started the engine that is running now. */
  ours(): boolean {
    return runningPid(this.layout.run, "dockerd", DOCKERD) !== undefined;
  }

  private static async answers(t: DockerTarget): Promise<boolean> {
    const r = await docker$(t, { timeout: "20s" })`${t.bin} info --format {{.ServerVersion}}`.nothrow();
    return r.exitCode === 0;
  }

  /** The engine to use, without starting anything: ours if running, else the ambient one if it answers. */
  async current(): Promise<DockerTarget | undefined> {
    if (this.ours()) return this.ownTarget;
    if (await DockerEngine.answers(ambientDocker)) return ambientDocker;
    return undefined;
  }

  /** Why no engine can be had here, or undefined when one can (running, or startable by us). */
  async unavailableReason(): Promise<string | undefined> {
    if (await this.current()) return undefined;
    if (process.platform !== "linux") return "no Docker engine answers (`docker info` failed): start Docker";
    if (process.getuid?.() !== 0) return "no Docker engine answers (`docker info` failed): start Docker, or run as root so the project can start its own dockerd";
    if (!existsSync(DOCKERD)) return "no Docker engine answers and dockerd is not installed: run packages/cluster/from-source/install-host-deps.sh (apt-get install docker.io)";
    return undefined;
  }

  /** The engine to use, starting the project's own dockerd when none answers. */
  async ensure(): Promise<DockerTarget> {
    if (this.target) return this.target;
    const existing = await this.current();
    if (existing) return (this.target = existing);
    const reason = await this.unavailableReason();
    if (reason) throw new Error(reason);
    const l = this.layout;
    for (const d of [l.dataRoot, l.run, l.logs]) mkdirSync(d, { recursive: true });
    writeFileSync(l.config, JSON.stringify({}, null, 2) + "\n");
    const wrapper = needsRuncWrapper() ? RUNC_WRAPPER : undefined;
    await step(this.log, `start the project's dockerd (${l.socket}${wrapper ? "; runtime runc-without-sys-resource" : ""})`, async () => {
      startDetached({ name: "dockerd", bin: DOCKERD, args: dockerdArgs(l, { runcWrapper: wrapper }) }, l.run, l.logs);
      await waitFor("dockerd to answer", 60_000, async () => {
        if (runningPid(l.run, "dockerd", DOCKERD) === undefined) throw new FatalWaitError(`dockerd exited; see ${join(l.logs, "dockerd.log")}`);
        return (await DockerEngine.answers(this.ownTarget)) || undefined;
      });
    });
    return (this.target = this.ownTarget);
  }

  /**
   * The Debian bookworm image to build FROM: Docker Hub's debian:bookworm-slim on an ambient
   * engine (it can pull), our debootstrap image (loaded into the engine, built once) on ours.
   */
  async debianBase(): Promise<string> {
    const target = await this.ensure();
    if (!this.ours()) return "debian:bookworm-slim";
    if (!(await dockerHasImage(target, DEBIAN_BASE_IMAGE))) {
      const archive = await step(this.log, `base image ${DEBIAN_BASE_IMAGE} (debootstrap, cached)`, () => buildDebianBaseImage(join(cacheRoot(), "images"), this.log));
      await docker$(target)`${target.bin} load -i ${archive}`;
    }
    return DEBIAN_BASE_IMAGE;
  }

  /** Stops the project's dockerd if this project started it; its data root (image cache) stays. */
  async stop(): Promise<void> {
    this.target = undefined;
    if (!this.ours()) return;
    await step(this.log, "stop the project's dockerd", () => stopManaged(this.layout.run, "dockerd", DOCKERD, 30_000));
    rmSync(this.layout.socket, { force: true });
  }
}
