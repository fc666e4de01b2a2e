/**
 * Real-cluster smoke test for the local provider (root; run with `pnpm test:cluster`).
 * up -> node Ready -> a pod on the Debian base image runs -> an HTTP pod behind a NodePort
 * answers on 127.0.0.1 -> a pod resolves Service names through CoreDNS -> a pod reaches the
 * host at hostAddressForPods -> an image built by
 * `docker build` runs -> down leaves no process, iptables rule, interface or mount of ours.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "node:http";
import type { Server } from "node:http";
import { mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { $ } from "zx";
import { KubeConfig, CoreV1Api } from "@kubernetes/client-node";
import type { V1Pod } from "@kubernetes/client-node";
import { LocalProvider, BUSYBOX_IMAGE, COREDNS_IMAGE, DEBIAN_BASE_IMAGE, waitFor, kubeClients, nodePortAddress, nodePortOf, waitForNodesReady, waitForDeploymentAvailable } from "../src/index.ts";
import type { ClusterInfo } from "../src/index.ts";

const provider = new LocalProvider();
let info: ClusterInfo;
let core: CoreV1Api;
const NS = "default";
const varLogContainersBefore = existsSync("/var/log/containers");

async function podPhase(name: string): Promise<string | undefined> {
  const pod = await core.readNamespacedPod({ name, namespace: NS });
  return pod.status?.phase;
}

async function runPod(pod: V1Pod): Promise<void> {
  await core.createNamespacedPod({ namespace: NS, body: pod });
  const name = pod.metadata?.name ?? "";
  await waitFor(`pod ${name} Running`, 120_000, async () => ((await podPhase(name)) === "Running" ? true : undefined), 1000);
}

async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

function kubectlBin(): string {
  const kubectl = join(provider.settings.cacheDir, "tools", "bin", "kubectl");
  return existsSync(kubectl) ? kubectl : "kubectl";
}

async function execInPod(pod: string, cmd: string[]): Promise<string> {
  const r = await $({ quiet: true })`${kubectlBin()} --kubeconfig ${info.kubeconfig} exec ${pod} -- ${cmd}`;
  return r.stdout;
}

describe("local cluster provider (real cluster)", () => {
  beforeAll(async () => {
    const a = await provider.available();
    if (!a.ok) throw new Error(`local provider not available: ${a.reason}`);
    info = await provider.up();
    const kc = new KubeConfig();
    kc.loadFromFile(info.kubeconfig);
    kc.setCurrentContext(info.context);
    core = kc.makeApiClient(CoreV1Api);
  });

  afterAll(async () => {
    await provider.down();
  });

  it("reports a Ready node running Kubernetes v1.34.4", async () => {
    const nodes = await core.listNode();
    expect(nodes.items).toHaveLength(1);
    const node = nodes.items[0];
    expect(node?.status?.nodeInfo?.kubeletVersion).toBe("v1.34.4");
    expect(node?.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(info.hostAddressForPods).toBe(provider.settings.gateway);
    expect(info.nodePortHost).toBe("127.0.0.1");
  });

  it("runs CoreDNS as the kube-dns Service on its fixed ClusterIP", async () => {
    const svc = await core.readNamespacedService({ name: "kube-dns", namespace: "kube-system" });
    expect(svc.spec?.clusterIP).toBe(provider.settings.dnsServiceIp);
    const pods = await core.listNamespacedPod({ namespace: "kube-system", labelSelector: "k8s-app=kube-dns" });
    expect(pods.items).toHaveLength(1);
    expect(pods.items[0]?.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(pods.items[0]?.spec?.containers[0]?.image).toBe(COREDNS_IMAGE);
  });

  it("runs a pod on the Debian base image", async () => {
    await provider.loadImage(DEBIAN_BASE_IMAGE);
    await runPod({
      metadata: { name: "debian-sleep" },
      spec: { containers: [{ name: "sleep", image: DEBIAN_BASE_IMAGE, imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] }] },
    });
    expect(await execInPod("debian-sleep", ["cat", "/etc/debian_version"])).toMatch(/^12\./);
  });

  it("serves an HTTP pod through a NodePort on 127.0.0.1", async () => {
    await runPod({
      metadata: { name: "web", labels: { app: "web" } },
      spec: {
        containers: [
          { name: "httpd", image: BUSYBOX_IMAGE, imagePullPolicy: "IfNotPresent", command: ["httpd", "-f", "-p", "8080", "-h", "/www"], ports: [{ containerPort: 8080 }] },
        ],
      },
    });
    const svc = await core.createNamespacedService({
      namespace: NS,
      body: { metadata: { name: "web" }, spec: { type: "NodePort", selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] } },
    });
    const nodePort = svc.spec?.ports?.[0]?.nodePort;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    const res = await waitFor(`http://127.0.0.1:${nodePort}/`, 60_000, async () => {
      const r = await httpGet(`http://${info.nodePortHost}:${nodePort}/`);
      return r.status === 200 ? r : undefined;
    });
    expect(res.body).toContain("hello from mlflow-k8s local cluster");
  });

  it("resolves Service names to their ClusterIP from a pod (CoreDNS behind kube-dns)", async () => {
    const web = await core.readNamespacedService({ name: "web", namespace: NS });
    const clusterIp = web.spec?.clusterIP;
    expect(clusterIp).toMatch(/^10\.96\./);
    // The kubelet points pods at the kube-dns Service, with the cluster search path.
    const resolvConf = await execInPod("debian-sleep", ["cat", "/etc/resolv.conf"]);
    expect(resolvConf).toContain(`nameserver ${provider.settings.dnsServiceIp}`);
    expect(resolvConf).toMatch(/^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local\b/m);
    // glibc's resolver in the Debian pod: the short name, the <svc>.<ns>.svc form the chart's
    // `helm test` uses, and the fully qualified name of the API Service.
    const lookup = async (name: string) => (await execInPod("debian-sleep", ["getent", "ahostsv4", name])).split(/\s+/)[0];
    expect(await lookup("web")).toBe(clusterIp);
    expect(await lookup(`web.${NS}.svc`)).toBe(clusterIp);
    expect(await lookup("kubernetes.default.svc.cluster.local")).toBe(provider.settings.apiServiceIp);
    // An unknown name in the cluster domain is answered (NXDOMAIN) by CoreDNS, not timed out.
    const t0 = Date.now();
    const missing = await $({ quiet: true })`${kubectlBin()} --kubeconfig ${info.kubeconfig} exec debian-sleep -- getent ahostsv4 nope.${NS}.svc.cluster.local`.nothrow();
    expect(missing.exitCode).toBe(2);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it("lets pods reach a server on the host at hostAddressForPods", async () => {
    const server: Server = createServer((_req, res) => res.end("host says hi\n"));
    await new Promise<void>((r) => server.listen(18080, info.hostAddressForPods, r));
    try {
      const out = await execInPod("web", ["wget", "-q", "-O", "-", `http://${info.hostAddressForPods}:18080/`]);
      expect(out).toBe("host says hi\n");
    } finally {
      server.close();
    }
  });

  it("runs an image built with docker build FROM the Debian base", async () => {
    const ctx = mkdtempSync(join(tmpdir(), "mlflow-k8s-img-"));
    writeFileSync(join(ctx, "Dockerfile"), 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo built-by-docker > /built.txt\nCMD ["sleep", "3600"]\n');
    await provider.buildImage({ context: ctx, tag: "mlflow-k8s/smoke:1", buildArgs: { BASE_IMAGE: DEBIAN_BASE_IMAGE } });
    await provider.loadImage("mlflow-k8s/smoke:1");
    await runPod({ metadata: { name: "smoke" }, spec: { containers: [{ name: "smoke", image: "mlflow-k8s/smoke:1", imagePullPolicy: "IfNotPresent" }] } });
    expect(await execInPod("smoke", ["cat", "/built.txt"])).toBe("built-by-docker\n");
  });

  it("offers waits and NodePort lookups through ClusterInfo", async () => {
    const k = kubeClients(info);
    await waitForNodesReady(k, 30_000);
    await k.apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: "web2" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "web2" } },
          template: {
            metadata: { labels: { app: "web2" } },
            spec: { containers: [{ name: "httpd", image: BUSYBOX_IMAGE, imagePullPolicy: "IfNotPresent", command: ["httpd", "-f", "-p", "8080", "-h", "/www"] }] },
          },
        },
      },
    });
    await waitForDeploymentAvailable(k, NS, "web2", 120_000);
    expect(await nodePortOf(k, NS, "web")).toBeGreaterThanOrEqual(30000);
    expect(await nodePortAddress(info, k)).toBe("127.0.0.1");
  });

  it("refuses to load a :latest image", async () => {
    await expect(provider.loadImage("mlflow-k8s/smoke:latest")).rejects.toThrow(/latest/);
  });

  it("down leaves no process, iptables rule, interface or mount of ours", async () => {
    await provider.down();
    expect(await provider.leftovers()).toEqual([]);
    const save = (await $({ quiet: true })`iptables-save`).stdout;
    expect(save).not.toMatch(/KUBE-|CNI-|mlflow-k8s-local/);
    const links = (await $({ quiet: true })`ip -o link`).stdout;
    expect(links).not.toContain(provider.settings.bridge);
    expect(links).not.toMatch(/\bveth/);
    expect(existsSync(provider.paths.dir)).toBe(false);
    expect(existsSync("/var/log/containers")).toBe(varLogContainersBefore);
    const save6 = (await $({ quiet: true })`ip6tables-save`).stdout;
    expect(save6).not.toMatch(/KUBE-|CNI-/);
  });
});
