import { describe, expect, it } from "vitest";
import { defaultSettings, paths } from "../src/local/layout.ts";
import {
  certSpecs,
  componentCommands,
  renderCertExtensions,
  renderCniConflist,
  renderContainerdConfig,
  renderKubeProxyConfig,
  renderKubeletConfig,
  renderKubeconfig,
  subject,
} from "../src/local/render.ts";

const s = defaultSettings({ MLFLOW_K8S_CACHE: "/cache", HOME: "/root" });
const p = paths(s);

describe("layout", () => {
  it("keeps all cluster state under one directory, overridable by MLFLOW_K8S_LOCAL_DIR", () => {
    expect(s.dir).toBe("/cache/local-cluster");
    expect(defaultSettings({ MLFLOW_K8S_LOCAL_DIR: "/x/y" }).dir).toBe("/x/y");
    for (const v of [p.pki, p.etcdData, p.containerdRoot, p.containerdSock, p.kubeletRoot, p.podLogs, p.cniConfDir, p.cniDataDir]) {
      expect(v.startsWith(s.dir + "/")).toBe(true);
    }
  });
});

describe("certificates", () => {
  it("puts Kubernetes groups in O and the user in CN", () => {
    const admin = certSpecs(s).find((c) => c.name === "admin");
    expect(admin && subject(admin)).toBe("/O=system:masters/CN=mlflow-k8s-admin");
    const kubelet = certSpecs(s).find((c) => c.name === "kubelet-client");
    expect(kubelet && subject(kubelet)).toBe(`/O=system:nodes/CN=system:node:${s.nodeName}`);
  });

  it("gives the API server certificate loopback, bridge and Service addresses", () => {
    const api = certSpecs(s).find((c) => c.name === "apiserver");
    if (!api) throw new Error("no apiserver cert");
    const ext = renderCertExtensions(api);
    expect(ext).toContain("extendedKeyUsage = serverAuth");
    expect(ext).toMatch(/subjectAltName = .*DNS:kubernetes\.default\.svc.*IP:127\.0\.0\.1, IP:10\.244\.0\.1, IP:10\.96\.0\.1/);
  });

  it("makes client certificates without SANs", () => {
    const ext = renderCertExtensions({ name: "x", cn: "x", client: true });
    expect(ext).toContain("extendedKeyUsage = clientAuth");
    expect(ext).not.toContain("subjectAltName");
  });
});

describe("kubeconfig", () => {
  it("embeds CA, certificate and key and selects its context", () => {
    const k = JSON.parse(renderKubeconfig({ cluster: "c", server: "https://127.0.0.1:6443", caPem: "CA", user: "u", certPem: "CERT", keyPem: "KEY" }));
    expect(k["current-context"]).toBe("c");
    expect(Buffer.from(k.clusters[0].cluster["certificate-authority-data"], "base64").toString()).toBe("CA");
    expect(Buffer.from(k.users[0].user["client-key-data"], "base64").toString()).toBe("KEY");
    expect(k.contexts[0].context).toEqual({ cluster: "c", user: "u" });
  });
});

describe("component configuration", () => {
  it("runs the kubelet on cgroupfs with image GC effectively off", () => {
    const k = JSON.parse(renderKubeletConfig(s, p));
    expect(k.cgroupDriver).toBe("cgroupfs");
    expect(k.imageGCHighThresholdPercent).toBe(100);
    expect(k.containerRuntimeEndpoint).toBe(`unix://${p.containerdSock}`);
    expect(k.failCgroupV1).toBe(false);
  });

  it("runs kube-proxy in iptables mode with NodePorts on loopback", () => {
    const k = JSON.parse(renderKubeProxyConfig(s, p));
    expect(k.mode).toBe("iptables");
    expect(k.nodePortAddresses).toContain("127.0.0.0/8");
    expect(k.iptables.localhostNodePorts).toBe(true);
    expect(k.conntrack.maxPerCore).toBe(0);
  });

  it("gives the CNI bridge our subnet and gateway, keeping IPAM state in the cluster dir", () => {
    const c = JSON.parse(renderCniConflist(s, p));
    const bridge = c.plugins[0];
    expect(bridge.type).toBe("bridge");
    expect(bridge.bridge).toBe(s.bridge);
    expect(bridge.ipam.ranges[0][0]).toEqual({ subnet: s.podSubnet, gateway: s.gateway });
    expect(bridge.ipam.dataDir).toBe(p.cniDataDir);
    expect(c.plugins.map((x: { type: string }) => x.type)).toEqual(["bridge", "portmap"]);
  });

  it("points containerd at private state, our CNI dir and the locally built pause image", () => {
    const t = renderContainerdConfig(s, p);
    expect(t).toContain(`root = "${p.containerdRoot}"`);
    expect(t).toContain(`address = "${p.containerdSock}"`);
    expect(t).toContain(`conf_dir = "${p.cniConfDir}"`);
    expect(t).toContain('sandbox_image = "registry.k8s.io/pause:3.10.1"');
    expect(t).toContain("SystemdCgroup = false");
  });

  it("starts components in dependency order with loopback-only etcd", () => {
    const cmds = componentCommands(s, p);
    expect(cmds.map((c) => c.name)).toEqual(["containerd", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"]);
    const etcd = cmds[1];
    expect(etcd?.args).toContain(`--listen-client-urls=http://127.0.0.1:${s.etcdClientPort}`);
    const api = cmds[2];
    expect(api?.args).toContain(`--etcd-servers=http://127.0.0.1:${s.etcdClientPort}`);
    expect(api?.args.some((a) => a.startsWith("--service-account-signing-key-file="))).toBe(true);
  });
});
