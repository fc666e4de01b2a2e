/**
 * The `local` provider: a single-node Kubernetes assembled from upstream components on
 * this machine (no container registry needed). See packages/cluster/README.md.
 *
 * Processes (start order): containerd, etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, kubelet, kube-proxy (+ dockerd on demand for `docker build`); then
 * CoreDNS runs as a kube-system Deployment behind the kube-dns Service (cluster DNS).
 * Everything lives under one directory (MLFLOW_K8S_LOCAL_DIR, default
 * ~/.cache/mlflow-k8s/local-cluster); `down` stops what it started, by PID, and removes
 * its iptables rules, interfaces, mounts and cgroups, then that directory.
 */
import { $ } from "zx";
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync, readdirSync, readlinkSync, statSync, rmdirSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { Resolver } from "node:dns/promises";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import type { Availability, ClusterInfo, ClusterProvider, ImageBuildSpec } from "../provider.ts";
import { defaultSettings, paths, KUBERNETES_VERSION, PAUSE_IMAGE, DEBIAN_BASE_IMAGE, BUSYBOX_IMAGE, COREDNS_IMAGE } from "../local/layout.ts";
import type { LocalClusterSettings, Paths } from "../local/layout.ts";
import { CNI_NETWORK_NAME, componentCommands, renderCniConflist, renderContainerdConfig, renderKubeProxyConfig, renderKubeletConfig } from "../local/render.ts";
import type { ComponentCommand } from "../local/render.ts";
import { ensurePki, writeKubeconfigs, CONTEXT } from "../local/pki.ts";
import { runningPid, startDetached, stopManaged, pidsWithArg, stopPid, alive } from "../local/procs.ts";
import * as net from "../local/hostnet.ts";
import { assertPinnedTag, buildBusyboxImage, buildCorednsImage, buildDebianBaseImage, buildPauseImage } from "../local/images.ts";
import { DNS_DEPLOYMENT, DNS_NAMESPACE, DNS_SERVICE, renderDnsObjects } from "../local/dns.ts";
import { dockerBuild, dockerHasImage } from "../docker.ts";
import type { DockerTarget } from "../docker.ts";
import { FatalWaitError, stderrLogger, step, waitFor } from "../log.ts";
import type { Logger } from "../log.ts";

/** What up() changed on the host, so down() can undo exactly that. */
export interface LocalState {
  version: string;
  startedAt: string;
  settings: LocalClusterSettings;
  sysctlsBefore: Record<string, string>;
  bridgeCreated: boolean;
  chainsBefore: { v4: net.ChainSnapshot; v6: net.ChainSnapshot };
  varLogContainersExisted: boolean;
  /** cgroup v1 controller dirs named kubepods that existed before (left alone by down). */
  kubepodsCgroupsBefore: string[];
  /** Host directories containerd/dockerd/CNI create at fixed paths; those absent before up are removed by down when empty. */
  hostDirsBefore: string[];
  info?: ClusterInfo;
}

const HOST_TOOLS: Array<[string, string]> = [
  ["/usr/bin/containerd", "containerd"],
  ["/usr/sbin/runc", "runc"],
  ["/usr/bin/ctr", "containerd"],
  ["/usr/lib/cni/bridge", "containernetworking-plugins"],
  ["/usr/lib/cni/host-local", "containernetworking-plugins"],
  ["/usr/lib/cni/portmap", "containernetworking-plugins"],
  ["/usr/sbin/iptables", "iptables"],
  ["/usr/sbin/conntrack", "conntrack"],
  ["/usr/bin/openssl", "openssl"],
  ["/usr/sbin/ip", "iproute2"],
];
const K8S_BINARIES = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"];

const CGROUP_ROOT = "/sys/fs/cgroup";
/** Fixed paths the runtimes create whatever their configured roots (shim sockets, fifos, plugins, netns). */
export const HOST_RUNTIME_DIRS = ["/run/containerd", "/run/docker", "/run/netns", "/var/lib/cni", "/etc/docker"];

export class LocalProvider implements ClusterProvider {
  readonly name = "local" as const;
  readonly settings: LocalClusterSettings;
  readonly paths: Paths;
  private readonly log: Logger;

  constructor(opts: { settings?: Partial<LocalClusterSettings>; log?: Logger } = {}) {
    this.settings = { ...defaultSettings(), ...opts.settings };
    this.paths = paths(this.settings);
    this.log = opts.log ?? stderrLogger("local-cluster");
  }

  /** What is missing on this machine, as install instructions. */
  missing(): string[] {
    const out: string[] = [];
    if (process.platform !== "linux") out.push("the local provider runs on Linux only");
    if (process.getuid?.() !== 0) out.push("the local provider must run as root (it starts containerd, kubelet and changes iptables)");
    const pkgs = new Set<string>();
    for (const [file, pkg] of HOST_TOOLS) if (!existsSync(file)) pkgs.add(pkg);
    if (pkgs.size) out.push(`missing Debian packages: ${[...pkgs].join(", ")} (run packages/cluster/local/install-host-deps.sh)`);
    const bins = K8S_BINARIES.filter((b) => !existsSync(join(this.paths.k8sBin, b)));
    if (bins.length) out.push(`missing Kubernetes binaries in ${this.paths.k8sBin}: ${bins.join(", ")} (run packages/cluster/local/build-kubernetes.sh)`);
    if (!existsSync(this.paths.corednsBin)) out.push(`missing CoreDNS (cluster DNS) at ${this.paths.corednsBin} (run packages/cluster/local/build-coredns.sh)`);
    if (!existsSync("/sys/fs/cgroup/memory") && !existsSync("/sys/fs/cgroup/cgroup.controllers")) out.push("no cgroup filesystem at /sys/fs/cgroup");
    return out;
  }

  async available(): Promise<Availability> {
    const m = this.missing();
    return m.length ? { ok: false, reason: m.join("; ") } : { ok: true };
  }

  async toolVersions(): Promise<Record<string, string>> {
    const v: Record<string, string> = {};
    const ver = async (name: string, cmd: string[], pick: (s: string) => string) => {
      const r = await $({ quiet: true })`${cmd}`.nothrow();
      if (r.exitCode === 0) v[name] = pick(r.stdout + r.stderr).trim();
    };
    const bin = (b: string) => join(this.paths.k8sBin, b);
    await ver("kubernetes", [bin("kube-apiserver"), "--version"], (s) => s.replace(/^Kubernetes /, ""));
    await ver("etcd", [bin("etcd"), "--version"], (s) => /etcd Version: (\S+)/.exec(s)?.[1] ?? s);
    await ver("coredns", [this.paths.corednsBin, "-version"], (s) => s.split("\n")[0]?.replace(/^CoreDNS-/, "v") ?? s);
    await ver("containerd", ["/usr/bin/containerd", "--version"], (s) => s.split(" ")[2] ?? s);
    await ver("runc", ["/usr/sbin/runc", "--version"], (s) => s.split("\n")[0]?.replace("runc version ", "") ?? s);
    await ver("iptables", ["/usr/sbin/iptables", "--version"], (s) => s);
    await ver("dockerd", ["/usr/sbin/dockerd", "--version"], (s) => s);
    return v;
  }

  // ---------------------------------------------------------------- state

  readState(): LocalState | undefined {
    try {
      return JSON.parse(readFileSync(this.paths.state, "utf8")) as LocalState;
    } catch {
      return undefined;
    }
  }

  private writeState(st: LocalState): void {
    writeFileSync(this.paths.state, JSON.stringify(st, null, 2) + "\n");
  }

  info(): ClusterInfo {
    return {
      kubeconfig: this.paths.adminKubeconfig,
      context: CONTEXT,
      nodePortHost: "127.0.0.1",
      hostAddressForPods: this.settings.gateway,
    };
  }

  private commands(): ComponentCommand[] {
    return componentCommands(this.settings, this.paths);
  }

  /** name -> PID for each component that runs now. */
  status(): Record<string, number | undefined> {
    const out: Record<string, number | undefined> = {};
    for (const c of this.commands()) out[c.name] = runningPid(this.paths.run, c.name, c.bin);
    out.dockerd = runningPid(this.paths.run, "dockerd", "/usr/sbin/dockerd");
    return out;
  }

  // ---------------------------------------------------------------- up

  async up(): Promise<ClusterInfo> {
    const missing = this.missing();
    if (missing.length) throw new Error(`local cluster cannot start:\n  - ${missing.join("\n  - ")}`);
    const p = this.paths;
    const s = this.settings;
    const t0 = performance.now();
    for (const d of [p.dir, p.run, p.logs, p.config, p.cniConfDir, p.cniDataDir, p.kubeletRoot, p.podLogs, p.images]) mkdirSync(d, { recursive: true });

    let st = this.readState();
    if (!st) {
      st = {
        version: KUBERNETES_VERSION,
        startedAt: new Date().toISOString(),
        settings: s,
        sysctlsBefore: net.readSysctls(),
        bridgeCreated: false,
        chainsBefore: await net.snapshotChains(),
        varLogContainersExisted: existsSync("/var/log/containers"),
        kubepodsCgroupsBefore: kubepodsCgroups(),
        hostDirsBefore: HOST_RUNTIME_DIRS.filter((d) => existsSync(d)),
      };
      this.writeState(st);
    }

    await step(this.log, "certificates and kubeconfigs", async () => {
      await ensurePki(s, p);
      writeKubeconfigs(s, p);
    });
    writeFileSync(join(p.config, "containerd.toml"), renderContainerdConfig(s, p));
    writeFileSync(join(p.cniConfDir, "10-mlflow-k8s.conflist"), renderCniConflist(s, p));
    writeFileSync(join(p.config, "kubelet.json"), renderKubeletConfig(s, p));
    writeFileSync(join(p.config, "kube-proxy.json"), renderKubeProxyConfig(s, p));

    await step(this.log, `host network: bridge ${s.bridge} ${s.gateway}, FORWARD accept ${s.podSubnet}, ip_forward`, async () => {
      const created = await net.ensureBridge(s);
      if (created) {
        st.bridgeCreated = true;
        this.writeState(st);
      }
      net.setSysctls({ "net/ipv4/ip_forward": "1", "net/bridge/bridge-nf-call-iptables": "1" });
      await net.addForwardRules(s);
    });

    const cmds = Object.fromEntries(this.commands().map((c) => [c.name, c])) as Record<ComponentCommand["name"], ComponentCommand>;
    const start = async (c: ComponentCommand, ready: () => Promise<boolean | undefined>, timeoutMs = 60_000) => {
      await step(this.log, `start ${c.name}`, async () => {
        if (runningPid(p.run, c.name, c.bin) === undefined) startDetached({ name: c.name, bin: c.bin, args: c.args }, p.run, p.logs);
        await waitFor(`${c.name} to be ready (log: ${join(p.logs, c.name + ".log")})`, timeoutMs, async () => {
          if (runningPid(p.run, c.name, c.bin) === undefined) throw new FatalWaitError(`${c.name} exited; last log lines:\n${tail(join(p.logs, c.name + ".log"))}`);
          return ready();
        });
      });
    };

    await start(cmds.containerd, async () => (await this.ctr(["version"]).nothrow()).exitCode === 0);
    // Imported while etcd and the API server start (containerd's state is new after down);
    // awaited before the kubelet, which needs the pause image for its first sandbox.
    const images = step(this.log, "images: pause + busybox + coredns into containerd", async () => {
      await this.importArchive(await buildPauseImage(p.images));
      await this.importArchive(await buildBusyboxImage(p.images));
      await this.importArchive(await buildCorednsImage(p.images, p.corednsBin));
    });
    // Do not let a failure surface as an unhandled rejection before it is awaited.
    images.catch(() => undefined);
    await start(cmds.etcd, async () => (await healthOk(`http://127.0.0.1:${s.etcdClientPort}/health`)) || undefined);
    await start(cmds["kube-apiserver"], async () => (await this.apiGet("/readyz")).status === 200 || undefined, 120_000);
    // Applied now so the Deployment controller and scheduler act as soon as they start.
    await step(this.log, `cluster DNS objects (CoreDNS ${COREDNS_IMAGE}, Service ${DNS_SERVICE} ${s.dnsServiceIp})`, () => this.applyDns());
    await start(cmds["kube-controller-manager"], async () => (await healthOk(`https://127.0.0.1:${s.controllerManagerPort}/healthz`)) || undefined);
    await start(cmds["kube-scheduler"], async () => (await healthOk(`https://127.0.0.1:${s.schedulerPort}/healthz`)) || undefined);
    await images;
    await start(cmds.kubelet, async () => (await healthOk(`http://127.0.0.1:${s.kubeletHealthzPort}/healthz`)) || undefined, 90_000);
    await start(cmds["kube-proxy"], async () => (await healthOk(`http://127.0.0.1:${s.proxyHealthzPort}/healthz`)) || undefined);
    await step(this.log, `node ${s.nodeName} Ready`, () =>
        waitFor(`node ${s.nodeName} Ready`, 120_000, async () => {
          const r = await this.apiGet(`/api/v1/nodes/${s.nodeName}`);
          if (r.status !== 200) return undefined;
          const node = JSON.parse(r.body) as { status?: { conditions?: Array<{ type: string; status: string }> } };
          return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") || undefined;
        }),
    );
    await Promise.all([
      step(this.log, "default ServiceAccount and kube-root-ca.crt", () =>
        waitFor("the default ServiceAccount", 60_000, async () => {
          const sa = await this.apiGet("/api/v1/namespaces/default/serviceaccounts/default");
          const cm = await this.apiGet("/api/v1/namespaces/default/configmaps/kube-root-ca.crt");
          return (sa.status === 200 && cm.status === 200) || undefined;
        }),
      ),
      step(this.log, `cluster DNS answers on ${s.dnsServiceIp}`, () => this.waitForDns()),
    ]);
    st.info = this.info();
    this.writeState(st);
    this.log(`cluster up in ${((performance.now() - t0) / 1000).toFixed(1)}s: KUBECONFIG=${p.adminKubeconfig}; pods reach the host at ${s.gateway}`);
    return this.info();
  }

  // ---------------------------------------------------------------- cluster DNS

  /** Server-side applies CoreDNS's objects (creates them, or leaves them as they are on a re-up). */
  private async applyDns(): Promise<void> {
    for (const o of renderDnsObjects(this.settings)) {
      const r = await this.apiRequest("PATCH", `${o.path}?fieldManager=mlflow-k8s-local&force=true`, JSON.stringify(o.body), "application/apply-patch+yaml");
      if (r.status !== 200 && r.status !== 201) throw new Error(`apply ${o.path}: HTTP ${r.status}: ${r.body.slice(0, 500)}`);
    }
  }

  /**
   * Waits until pods can use the cluster DNS: the CoreDNS Deployment is Available (its
   * readiness is CoreDNS's /ready: the kubernetes plugin has synced), kube-proxy has
   * programmed the kube-dns Service, and a query to the Service address for
   * kubernetes.default.svc.<domain> returns the API Service IP. The query is sent only after
   * the DNAT rule exists, so it never leaves the host.
   */
  private async waitForDns(timeoutMs = 120_000): Promise<void> {
    const s = this.settings;
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1000, deadline - Date.now());
    await waitFor(`deployment ${DNS_NAMESPACE}/${DNS_DEPLOYMENT} available`, left(), async () => {
      const r = await this.apiGet(`/apis/apps/v1/namespaces/${DNS_NAMESPACE}/deployments/${DNS_DEPLOYMENT}`);
      if (r.status !== 200) return undefined;
      const d = JSON.parse(r.body) as { status?: { availableReplicas?: number } };
      if ((d.status?.availableReplicas ?? 0) >= 1) return true;
      const pods = await this.apiGet(`/api/v1/namespaces/${DNS_NAMESPACE}/pods?labelSelector=k8s-app%3Dkube-dns`);
      if (pods.status === 200) {
        // An image or config problem never heals by waiting: say so at once.
        for (const pod of (JSON.parse(pods.body) as { items: Array<{ status?: { containerStatuses?: Array<{ state?: { waiting?: { reason?: string; message?: string } } }> } }> }).items) {
          const w = pod.status?.containerStatuses?.[0]?.state?.waiting;
          if (w?.reason && /ErrImageNeverPull|InvalidImageName|CreateContainerConfigError|CreateContainerError/.test(w.reason)) {
            throw new FatalWaitError(`CoreDNS cannot start: ${w.reason}: ${w.message ?? ""}`);
          }
        }
      }
      return undefined;
    }, 250);
    await waitFor(`kube-proxy rules for ${DNS_SERVICE} (${s.dnsServiceIp}:53/udp)`, left(), async () => {
      const r = await $({ quiet: true })`iptables -w 5 -t nat -S KUBE-SERVICES`.nothrow();
      return new RegExp(`-d ${s.dnsServiceIp.replace(/\./g, "\\.")}/32 .*-p udp .*--dport 53 .*-j KUBE-SVC-`).test(r.stdout) || undefined;
    }, 250);
    const name = `kubernetes.default.svc.${s.clusterDomain}`;
    await waitFor(`${name} to resolve to ${s.apiServiceIp} through ${s.dnsServiceIp}`, left(), async () => {
      const resolver = new Resolver({ timeout: 1000, tries: 1 });
      resolver.setServers([s.dnsServiceIp]);
      const addrs = await resolver.resolve4(name);
      return addrs.includes(s.apiServiceIp) || undefined;
    }, 250);
  }

  // ---------------------------------------------------------------- API access (admin cert, loopback)

  async apiGet(path: string): Promise<{ status: number; body: string }> {
    return this.apiRequest("GET", path);
  }

  async apiRequest(method: string, path: string, body?: string, contentType = "application/json"): Promise<{ status: number; body: string }> {
    const pki = this.paths.pki;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port: this.settings.apiServerPort,
          path,
          method,
          ca: readFileSync(join(pki, "ca.crt")),
          cert: readFileSync(join(pki, "admin.crt")),
          key: readFileSync(join(pki, "admin.key")),
          timeout: 5000,
          ...(body !== undefined ? { headers: { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) } } : {}),
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end(body);
    });
  }

  /** DELETE through the API; the status code, or 0 when the API server did not answer. */
  private async apiDelete(path: string): Promise<number> {
    return this.apiRequest("DELETE", path).then(
      (r) => r.status,
      () => 0,
    );
  }

  // ---------------------------------------------------------------- images

  ctr(args: string[]) {
    return $({ quiet: true })`/usr/bin/ctr --address ${this.paths.containerdSock} -n k8s.io ${args}`;
  }

  /** Imports a `docker save` archive into containerd's k8s.io namespace. */
  async importArchive(archive: string): Promise<void> {
    await this.ctr(["images", "import", archive]);
  }

  /** Image refs present in containerd (k8s.io namespace). */
  async images(): Promise<string[]> {
    const r = await this.ctr(["images", "ls", "-q"]);
    return r.stdout.split("\n").filter(Boolean);
  }

  /**
   * Makes `imageRef` runnable in the cluster. Built-in images (pause, busybox, the
   * Debian base) come from their cached archives; anything else must exist in the
   * private dockerd (built with buildImage) and is streamed `docker save | ctr import`.
   */
  async loadImage(imageRef: string): Promise<string> {
    assertPinnedTag(imageRef);
    await step(this.log, `load image ${imageRef}`, async () => {
      if (imageRef === PAUSE_IMAGE) return this.importArchive(await buildPauseImage(this.paths.images));
      if (imageRef === BUSYBOX_IMAGE) return this.importArchive(await buildBusyboxImage(this.paths.images));
      if (imageRef === DEBIAN_BASE_IMAGE) return this.importArchive(await buildDebianBaseImage(this.paths.images, this.log));
      if (imageRef === COREDNS_IMAGE) return this.importArchive(await buildCorednsImage(this.paths.images, this.paths.corednsBin));
      const docker = await this.ensureDockerd();
      if (!(await dockerHasImage(docker, imageRef))) {
        throw new Error(`image ${imageRef} is not in the local provider's Docker engine: build it first (provider.buildImage({ context, tag: "${imageRef}" }))`);
      }
      const env = { ...process.env, ...docker.env };
      await $({ env, quiet: true })`${docker.bin} save ${imageRef}`.pipe($({ quiet: true })`/usr/bin/ctr --address ${this.paths.containerdSock} -n k8s.io images import -`);
    });
    return imageRef;
  }

  /** `docker build` on the private dockerd; the Debian base image is loaded into it first. */
  async buildImage(spec: ImageBuildSpec): Promise<void> {
    assertPinnedTag(spec.tag);
    const docker = await this.ensureDockerd();
    await this.ensureBaseInDocker(docker);
    await step(this.log, `docker build ${spec.tag} from ${spec.context}`, () => dockerBuild(docker, spec, { networkHost: true, quiet: !process.env.MLFLOW_K8S_VERBOSE }));
  }

  /** Loads mlflow-k8s/debian:bookworm into the private dockerd (debootstrap once, cached). */
  async ensureBaseInDocker(docker?: DockerTarget): Promise<void> {
    const d = docker ?? (await this.ensureDockerd());
    if (await dockerHasImage(d, DEBIAN_BASE_IMAGE)) return;
    const archive = await step(this.log, `base image ${DEBIAN_BASE_IMAGE} (debootstrap, cached)`, () => buildDebianBaseImage(this.paths.images, this.log));
    await $({ env: { ...process.env, ...d.env }, quiet: true })`${d.bin} load -i ${archive}`;
  }

  dockerTarget(): DockerTarget {
    return { bin: existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker", env: { DOCKER_HOST: `unix://${this.paths.dockerSock}`, DOCKER_BUILDKIT: "0" } };
  }

  /**
   * Starts Debian's dockerd with its own data root, exec root and socket under the
   * cluster dir, without bridge or iptables changes (builds use --network host).
   */
  async ensureDockerd(): Promise<DockerTarget> {
    const p = this.paths;
    const bin = "/usr/sbin/dockerd";
    if (!existsSync(bin)) throw new Error("dockerd is not installed: run packages/cluster/local/install-host-deps.sh (apt-get install docker.io)");
    mkdirSync(p.run, { recursive: true });
    mkdirSync(p.logs, { recursive: true });
    const target = this.dockerTarget();
    if (runningPid(p.run, "dockerd", bin) === undefined) {
      mkdirSync(p.config, { recursive: true });
      writeFileSync(join(p.config, "dockerd.json"), JSON.stringify({ "deprecated-key-path": join(p.docker, "key.json") }, null, 2) + "\n");
      await step(this.log, "start dockerd (private)", async () => {
        startDetached(
          {
            name: "dockerd",
            bin,
            args: [
              `--data-root=${p.docker}`,
              `--exec-root=${join(p.run, "docker")}`,
              `--pidfile=${join(p.run, "dockerd.real.pid")}`,
              `--host=unix://${p.dockerSock}`,
              "--bridge=none",
              "--iptables=false",
              "--ip6tables=false",
              "--ip-forward=false",
              "--ip-masq=false",
              "--userland-proxy=false",
              "--storage-driver=overlay2",
              // Our own daemon.json: never read /etc/docker/daemon.json, and keep the trust key
              // dockerd 20.10 writes (/etc/docker/key.json by default) in our dir.
              `--config-file=${join(p.config, "dockerd.json")}`,
            ],
          },
          p.run,
          p.logs,
        );
        await waitFor("dockerd to answer", 60_000, async () => {
          if (runningPid(p.run, "dockerd", bin) === undefined) throw new FatalWaitError(`dockerd exited:\n${tail(join(p.logs, "dockerd.log"))}`);
          const r = await $({ env: { ...process.env, ...target.env }, quiet: true })`${target.bin} version`.nothrow();
          return r.exitCode === 0 || undefined;
        });
      });
    }
    return target;
  }

  // ---------------------------------------------------------------- down

  async down(opts: { keepDir?: boolean } = {}): Promise<void> {
    const p = this.paths;
    const s = this.settings;
    const st = this.readState();
    if (!existsSync(p.dir)) {
      this.log(`nothing to do: ${p.dir} does not exist`);
      return;
    }
    const t0 = performance.now();
    const cmds = Object.fromEntries(this.commands().map((c) => [c.name, c])) as Record<ComponentCommand["name"], ComponentCommand>;
    const stop = (c: ComponentCommand) => step(this.log, `stop ${c.name}`, () => stopManaged(p.run, c.name, c.bin, 15_000));

    await stop(cmds["kube-controller-manager"]);
    await stop(cmds["kube-scheduler"]);

    // Graceful: let the kubelet tear pods down (CNI DEL frees IPs, veths, netns mounts).
    const apiUp = runningPid(p.run, "kube-apiserver", cmds["kube-apiserver"].bin) !== undefined;
    const kubeletUp = runningPid(p.run, "kubelet", cmds.kubelet.bin) !== undefined;
    if (apiUp && kubeletUp) {
      await step(this.log, "delete all pods (kubelet tears down sandboxes)", async () => {
        const r = await this.apiGet("/api/v1/pods").catch(() => undefined);
        if (!r || r.status !== 200) return;
        const pods = (JSON.parse(r.body) as { items: Array<{ metadata: { name: string; namespace: string } }> }).items;
        for (const pod of pods) await this.apiDelete(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}?gracePeriodSeconds=0`);
        await waitFor("pod sandboxes to stop", 60_000, async () => {
          const t = await this.ctr(["tasks", "ls"]).nothrow();
          return t.exitCode !== 0 || !/\sRUNNING\s*$/m.test(t.stdout) || undefined;
        }).catch((e: Error) => this.log(`warning: ${e.message}; killing what is left`));
      });
    }
    await stop(cmds["kube-proxy"]);
    await stop(cmds.kubelet);

    // Whatever still runs in containerd: kill, and remember the netns mounts. If containerd
    // died (e.g. the session was killed), start it again so it can tell what it left running.
    const netnsPaths = new Set<string>();
    if (runningPid(p.run, "containerd", cmds.containerd.bin) === undefined && existsSync(p.containerdRoot) && existsSync(join(p.config, "containerd.toml"))) {
      await step(this.log, "restart containerd to find what it left", async () => {
        startDetached({ name: "containerd", bin: cmds.containerd.bin, args: cmds.containerd.args }, p.run, p.logs);
        await waitFor("containerd", 30_000, async () => (await this.ctr(["version"]).nothrow()).exitCode === 0 || undefined).catch((e: Error) =>
          this.log(`warning: ${e.message}`),
        );
      });
    }
    if (runningPid(p.run, "containerd", cmds.containerd.bin) !== undefined) {
      await step(this.log, "kill remaining containers", async () => {
        const ids = (await this.ctr(["containers", "ls", "-q"]).nothrow()).stdout.split("\n").filter(Boolean);
        for (const id of ids) {
          const info = await this.ctr(["containers", "info", id]).nothrow();
          for (const m of info.stdout.matchAll(/"path":\s*"(\/[^"]*netns[^"]*)"/g)) if (m[1]) netnsPaths.add(m[1]);
          await this.ctr(["tasks", "kill", "-a", "-s", "SIGKILL", id]).nothrow();
        }
        for (const id of ids) {
          await waitFor(`task ${id} to exit`, 10_000, async () => {
            const r = await this.ctr(["tasks", "ls"]).nothrow();
            return !r.stdout.split("\n").some((l) => l.startsWith(id + " ") && /RUNNING/.test(l)) || undefined;
          }).catch(() => undefined);
          await this.ctr(["tasks", "delete", "-f", id]).nothrow();
        }
      });
    }
    await stop(cmds.containerd);
    // containerd-shim processes outlive containerd; ours carry our socket path in argv.
    for (const pid of pidsWithArg(p.containerdSock)) {
      this.log(`stop leftover shim ${pid}`);
      await stopPid(pid, 5_000);
    }
    await stop(cmds["kube-apiserver"]);
    await stop(cmds.etcd);
    if (runningPid(p.run, "dockerd", "/usr/sbin/dockerd") !== undefined) {
      await step(this.log, "stop dockerd (private)", () => stopManaged(p.run, "dockerd", "/usr/sbin/dockerd", 20_000));
      // dockerd's own containerd (under our exec root) exits with it; make sure.
      for (const pid of pidsWithArg(join(p.run, "docker"))) if (alive(pid)) await stopPid(pid, 5_000);
    }
    const proxyBin = join(p.k8sBin, "kube-proxy");
    if (existsSync(proxyBin)) await $({ quiet: true })`${proxyBin} --cleanup --v=0`.nothrow();

    await step(this.log, "unmount", async () => {
      for (const n of netnsPaths) {
        await $({ quiet: true })`umount ${n}`.nothrow();
        rmSync(n, { force: true });
      }
      for (const root of [p.dir, p.docker]) {
        for (const m of mountsUnder(root)) await $({ quiet: true })`umount ${m}`.nothrow();
        for (const m of mountsUnder(root)) await $({ quiet: true })`umount -l ${m}`.nothrow();
      }
    });
    await step(this.log, "iptables, interfaces, sysctls", async () => {
      const rules = await net.removeForwardRules(s);
      const chains = st ? await net.removeClusterChains(st.chainsBefore) : [];
      const links = st?.bridgeCreated !== false ? await net.deleteBridge(s.bridge) : [];
      if (st) net.setSysctls(st.sysctlsBefore);
      this.log(`removed ${rules} FORWARD rules, ${chains.length} chains, links: ${links.join(", ") || "none"}`);
    });
    await step(this.log, "cgroups and /var/log/containers links", async () => {
      removeKubepodsCgroups(st?.kubepodsCgroupsBefore ?? []);
      cleanVarLogContainers(p.podLogs, st?.varLogContainersExisted ?? true);
      removeCniResultCache(CNI_NETWORK_NAME);
      const before = new Set(st?.hostDirsBefore ?? HOST_RUNTIME_DIRS);
      for (const d of HOST_RUNTIME_DIRS) if (!before.has(d)) removeEmptyTree(d);
    });
    if (!opts.keepDir) {
      const left = mountsUnder(p.dir);
      if (left.length) this.log(`warning: still mounted, keeping ${p.dir}: ${left.join(", ")}`);
      else rmSync(p.dir, { recursive: true, force: true });
    }
    this.log(`down in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  }

  /** What of ours is left on the host (for tests and `status`): processes, chains, links, mounts. */
  async leftovers(): Promise<string[]> {
    const out: string[] = [];
    for (const [name, pid] of Object.entries(this.status())) if (pid !== undefined) out.push(`process ${name} ${pid}`);
    for (const pid of pidsWithArg(this.paths.containerdSock)) out.push(`process ${pid} (uses our containerd socket)`);
    for (const pid of pidsWithArg(this.paths.dir)) out.push(`process ${pid} (args name ${this.paths.dir})`);
    if (await net.linkExists(this.settings.bridge)) out.push(`link ${this.settings.bridge}`);
    const save = (await $({ quiet: true })`iptables-save`.nothrow()).stdout;
    if (save.includes(net.RULE_COMMENT)) out.push("iptables rule with comment " + net.RULE_COMMENT);
    for (const m of [...mountsUnder(this.paths.dir), ...mountsUnder(this.paths.docker)]) out.push(`mount ${m}`);
    return out;
  }
}

function tail(file: string, n = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Mount points under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mp = line.split(" ")[4];
    if (!mp) continue;
    const decoded = mp.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (decoded === dir || decoded.startsWith(dir + "/")) out.push(decoded);
  }
  return [...new Set(out)].sort((a, b) => b.length - a.length);
}

function kubepodsCgroups(): string[] {
  const out: string[] = [];
  for (const c of safeReaddir(CGROUP_ROOT)) {
    const d = join(CGROUP_ROOT, c, "kubepods");
    if (existsSync(d)) out.push(d);
  }
  return out;
}

/** rmdir the kubelet's cgroupfs tree (/kubepods in each v1 controller), deepest first; only trees that did not exist before up. */
function removeKubepodsCgroups(before: string[]): void {
  const keep = new Set(before);
  for (const d of kubepodsCgroups()) {
    if (keep.has(d)) continue;
    const dirs: string[] = [];
    const walk = (x: string) => {
      dirs.push(x);
      for (const e of safeReaddir(x)) {
        const y = join(x, e);
        try {
          if (statSync(y).isDirectory()) walk(y);
        } catch {
          /* gone */
        }
      }
    };
    walk(d);
    // cgroup directories are removed with rmdir (never recursively), deepest first.
    for (const x of dirs.sort((a, b) => b.length - a.length)) {
      try {
        rmdirSync(x);
      } catch {
        /* busy or gone */
      }
    }
  }
}

/** Removes /var/log/containers links the kubelet made to our pod logs (and the dir if we caused it). */
function cleanVarLogContainers(podLogs: string, existed: boolean): void {
  const d = "/var/log/containers";
  for (const e of safeReaddir(d)) {
    const f = join(d, e);
    try {
      if (readlinkSync(f).startsWith(podLogs + "/")) rmSync(f, { force: true });
    } catch {
      /* not a link */
    }
  }
  if (!existed && safeReaddir(d).length === 0) rmSync(d, { recursive: true, force: true });
}

/**
 * libcni caches each attachment's result in /var/lib/cni/results (not configurable in
 * containerd 1.6). CNI DEL removes them; after a hard kill we remove the ones of our
 * network, and the loopback entries of the same containers.
 */
export function removeCniResultCache(network: string, dir = "/var/lib/cni/results"): string[] {
  const removed: string[] = [];
  for (const f of safeReaddir(dir)) {
    const m = new RegExp(`^${network.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-([0-9a-f]{64})-`).exec(f);
    if (!m) continue;
    for (const g of safeReaddir(dir)) {
      if (g === f || (g.startsWith("cni-loopback-" + m[1] + "-"))) {
        rmSync(join(dir, g), { force: true });
        removed.push(g);
      }
    }
  }
  return removed;
}

/** Removes a directory tree only if it holds nothing but (empty) directories. */
export function removeEmptyTree(d: string): boolean {
  let st;
  try {
    st = statSync(d);
  } catch {
    return true;
  }
  if (!st.isDirectory()) return false;
  let empty = true;
  for (const e of safeReaddir(d)) if (!removeEmptyTree(join(d, e))) empty = false;
  if (!empty) return false;
  try {
    rmdirSync(d);
    return true;
  } catch {
    return false;
  }
}

function safeReaddir(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

/**
 * GET a component's health endpoint on loopback: 200 within 3 s is healthy. The
 * controller-manager and scheduler serve https with self-signed certificates.
 */
function healthOk(url: string): Promise<boolean> {
  const send = url.startsWith("https:") ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(url, { rejectUnauthorized: false, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}
