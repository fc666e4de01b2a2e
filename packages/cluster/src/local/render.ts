/**
 * Pure renderers for every configuration file the local cluster writes. No I/O here,
 * so each can be unit-tested. YAML consumers (kubeconfig, kubelet and kube-proxy
 * configs) are given JSON, which is valid YAML and needs no library.
 */
import type { LocalClusterSettings, Paths } from "./layout.ts";
import { PAUSE_IMAGE } from "./layout.ts";
import { join } from "node:path";

/** Name of our CNI network (prefixes libcni's cache entries). */
export const CNI_NETWORK_NAME = "mlflow-k8s";

export interface KubeconfigInput {
  cluster: string;
  server: string;
  caPem: string;
  user: string;
  certPem: string;
  keyPem: string;
  context?: string;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** A self-contained kubeconfig (certs embedded) for one user. */
export function renderKubeconfig(k: KubeconfigInput): string {
  const context = k.context ?? k.cluster;
  return (
    JSON.stringify(
      {
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: k.cluster, cluster: { server: k.server, "certificate-authority-data": b64(k.caPem) } }],
        users: [{ name: k.user, user: { "client-certificate-data": b64(k.certPem), "client-key-data": b64(k.keyPem) } }],
        contexts: [{ name: context, context: { cluster: k.cluster, user: k.user } }],
        "current-context": context,
        preferences: {},
      },
      null,
      2,
    ) + "\n"
  );
}

export interface CertSpec {
  /** File stem under pki/ (e.g. "admin" -> admin.crt, admin.key). */
  name: string;
  cn: string;
  /** Organisations: Kubernetes groups (e.g. system:masters). */
  o?: string[];
  dnsNames?: string[];
  ips?: string[];
  server?: boolean;
  client?: boolean;
}

/** The certificates the cluster needs, all signed by one CA. */
export function certSpecs(s: LocalClusterSettings): CertSpec[] {
  return [
    {
      name: "apiserver",
      cn: "kube-apiserver",
      server: true,
      dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", s.nodeName],
      ips: ["127.0.0.1", s.gateway, s.apiServiceIp],
    },
    { name: "apiserver-kubelet-client", cn: "kube-apiserver-kubelet-client", o: ["system:masters"], client: true },
    { name: "admin", cn: "mlflow-k8s-admin", o: ["system:masters"], client: true },
    { name: "controller-manager", cn: "system:kube-controller-manager", client: true },
    { name: "scheduler", cn: "system:kube-scheduler", client: true },
    { name: "kube-proxy", cn: "system:kube-proxy", client: true },
    { name: "kubelet-client", cn: `system:node:${s.nodeName}`, o: ["system:nodes"], client: true },
    {
      name: "kubelet-server",
      cn: s.nodeName,
      server: true,
      dnsNames: [s.nodeName, "localhost"],
      ips: [s.gateway, "127.0.0.1"],
    },
  ];
}

/** `-subj` argument for openssl: /O=.../CN=... (O first, as Kubernetes reads every O as a group). */
export function subject(spec: CertSpec): string {
  const esc = (v: string) => v.replace(/([/\\=,+])/g, "\\$1");
  return [...(spec.o ?? []).map((o) => `/O=${esc(o)}`), `/CN=${esc(spec.cn)}`].join("");
}

/** The openssl x509 extension file for one certificate. */
export function renderCertExtensions(spec: CertSpec): string {
  const usage = [spec.server ? "serverAuth" : "", spec.client ? "clientAuth" : ""].filter(Boolean).join(",");
  const lines = [
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature, keyEncipherment",
    `extendedKeyUsage = ${usage || "clientAuth"}`,
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
  ];
  const alt = [...(spec.dnsNames ?? []).map((d) => `DNS:${d}`), ...(spec.ips ?? []).map((i) => `IP:${i}`)];
  if (alt.length) lines.push(`subjectAltName = ${alt.join(", ")}`);
  return lines.join("\n") + "\n";
}

/** containerd 1.6 config: private root/state/socket, CRI with our CNI dir and pause image. */
export function renderContainerdConfig(s: LocalClusterSettings, p: Paths): string {
  const q = (v: string) => JSON.stringify(v);
  return `# Written by @mlflow-k8s/cluster (local provider). Private to this cluster.
version = 2
root = ${q(p.containerdRoot)}
state = ${q(p.containerdState)}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = ${q(p.containerdSock)}

[ttrpc]
  address = ${q(p.containerdSock + ".ttrpc")}

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(s.dir, "containerd", "opt"))}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(PAUSE_IMAGE)}
  enable_selinux = false
  disable_apparmor = true
  # Sandboxed hosts may refuse lowering oom_score_adj (no CAP_SYS_RESOURCE); runc would then
  # fail with "can't get final child's PID from pipe: EOF". Never go below containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${q(p.cniConfDir)}
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = ${q(join(s.dir, "run", "runc"))}
`;
}

/** CNI: bridge + host-local on our bridge, portmap for hostPorts. No masquerade: pods only talk to the host and each other. */
export function renderCniConflist(s: LocalClusterSettings, p: Paths): string {
  return (
    JSON.stringify(
      {
        cniVersion: "0.4.0",
        name: CNI_NETWORK_NAME,
        plugins: [
          {
            type: "bridge",
            bridge: s.bridge,
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            ipam: {
              type: "host-local",
              dataDir: p.cniDataDir,
              ranges: [[{ subnet: s.podSubnet, gateway: s.gateway }]],
              routes: [{ dst: "0.0.0.0/0" }],
            },
          },
          { type: "portmap", capabilities: { portMappings: true } },
        ],
      },
      null,
      2,
    ) + "\n"
  );
}

/** KubeletConfiguration for cgroup v1 + cgroupfs, no image GC (the pause image cannot be pulled back), cluster DNS. */
export function renderKubeletConfig(s: LocalClusterSettings, p: Paths): string {
  return (
    JSON.stringify(
      {
        apiVersion: "kubelet.config.k8s.io/v1beta1",
        kind: "KubeletConfiguration",
        address: s.gateway,
        port: s.kubeletPort,
        readOnlyPort: 0,
        healthzBindAddress: "127.0.0.1",
        healthzPort: s.kubeletHealthzPort,
        authentication: {
          anonymous: { enabled: false },
          webhook: { enabled: true },
          x509: { clientCAFile: join(p.pki, "ca.crt") },
        },
        authorization: { mode: "Webhook" },
        tlsCertFile: join(p.pki, "kubelet-server.crt"),
        tlsPrivateKeyFile: join(p.pki, "kubelet-server.key"),
        cgroupDriver: "cgroupfs",
        containerRuntimeEndpoint: `unix://${p.containerdSock}`,
        imageServiceEndpoint: `unix://${p.containerdSock}`,
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        // Evict only when really out of room; never evict images (they cannot be pulled back).
        evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
        failSwapOn: false,
        podLogsDir: p.podLogs,
        // Pods with dnsPolicy ClusterFirst get CoreDNS (the kube-dns Service) and the search path
        // <ns>.svc.<domain> svc.<domain> <domain>; CoreDNS itself (dnsPolicy Default) gets resolvConf.
        clusterDNS: [s.dnsServiceIp],
        clusterDomain: s.clusterDomain,
        resolvConf: "/etc/resolv.conf",
        rotateCertificates: false,
        serializeImagePulls: false,
        maxPods: 110,
        podPidsLimit: 4096,
        enableServer: true,
        failCgroupV1: false,
        registerNode: true,
        localStorageCapacityIsolation: true,
      },
      null,
      2,
    ) + "\n"
  );
}

/** KubeProxyConfiguration: iptables mode, NodePorts on loopback and the bridge, host sysctls left alone. */
export function renderKubeProxyConfig(s: LocalClusterSettings, p: Paths): string {
  return (
    JSON.stringify(
      {
        apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
        kind: "KubeProxyConfiguration",
        mode: "iptables",
        clientConnection: { kubeconfig: join(p.kubeconfigs, "kube-proxy.conf") },
        hostnameOverride: s.nodeName,
        clusterCIDR: s.podSubnet,
        bindAddress: "127.0.0.1",
        healthzBindAddress: `127.0.0.1:${s.proxyHealthzPort}`,
        metricsBindAddress: `127.0.0.1:${s.proxyMetricsPort}`,
        nodePortAddresses: ["127.0.0.0/8", `${s.gateway}/32`],
        iptables: { localhostNodePorts: true, masqueradeAll: false, syncPeriod: "10s", minSyncPeriod: "1s" },
        // Zero = leave the host's conntrack sysctls as they are.
        conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
      },
      null,
      2,
    ) + "\n"
  );
}

export interface ComponentCommand {
  name: "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "kubelet" | "kube-proxy" | "containerd";
  bin: string;
  args: string[];
}

/** The command line of every process, in start order. */
export function componentCommands(s: LocalClusterSettings, p: Paths): ComponentCommand[] {
  const pki = (f: string) => join(p.pki, f);
  const kc = (f: string) => join(p.kubeconfigs, f);
  const bin = (b: string) => join(p.k8sBin, b);
  return [
    { name: "containerd", bin: "/usr/bin/containerd", args: ["--config", join(p.config, "containerd.toml")] },
    {
      name: "etcd",
      bin: bin("etcd"),
      args: [
        "--name=mlflow-k8s-local",
        `--data-dir=${p.etcdData}`,
        `--listen-client-urls=http://127.0.0.1:${s.etcdClientPort}`,
        `--advertise-client-urls=http://127.0.0.1:${s.etcdClientPort}`,
        `--listen-peer-urls=http://127.0.0.1:${s.etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${s.etcdPeerPort}`,
        `--initial-cluster=mlflow-k8s-local=http://127.0.0.1:${s.etcdPeerPort}`,
        "--quota-backend-bytes=2147483648",
        "--log-level=warn",
      ],
    },
    {
      name: "kube-apiserver",
      bin: bin("kube-apiserver"),
      args: [
        `--etcd-servers=http://127.0.0.1:${s.etcdClientPort}`,
        "--bind-address=0.0.0.0",
        `--secure-port=${s.apiServerPort}`,
        `--advertise-address=${s.gateway}`,
        `--service-cluster-ip-range=${s.serviceCidr}`,
        `--service-node-port-range=${s.nodePortRange}`,
        `--client-ca-file=${pki("ca.crt")}`,
        `--tls-cert-file=${pki("apiserver.crt")}`,
        `--tls-private-key-file=${pki("apiserver.key")}`,
        `--kubelet-client-certificate=${pki("apiserver-kubelet-client.crt")}`,
        `--kubelet-client-key=${pki("apiserver-kubelet-client.key")}`,
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
        `--service-account-key-file=${pki("sa.pub")}`,
        `--service-account-signing-key-file=${pki("sa.key")}`,
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        "--allow-privileged=true",
        "--profiling=false",
        "--v=1",
      ],
    },
    {
      name: "kube-controller-manager",
      bin: bin("kube-controller-manager"),
      args: [
        `--kubeconfig=${kc("controller-manager.conf")}`,
        `--authentication-kubeconfig=${kc("controller-manager.conf")}`,
        `--authorization-kubeconfig=${kc("controller-manager.conf")}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${s.controllerManagerPort}`,
        `--service-account-private-key-file=${pki("sa.key")}`,
        `--root-ca-file=${pki("ca.crt")}`,
        `--cluster-signing-cert-file=${pki("ca.crt")}`,
        `--cluster-signing-key-file=${pki("ca.key")}`,
        `--service-cluster-ip-range=${s.serviceCidr}`,
        "--use-service-account-credentials=true",
        "--leader-elect=false",
        "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller",
        "--profiling=false",
        "--v=1",
      ],
    },
    {
      name: "kube-scheduler",
      bin: bin("kube-scheduler"),
      args: [
        `--kubeconfig=${kc("scheduler.conf")}`,
        `--authentication-kubeconfig=${kc("scheduler.conf")}`,
        `--authorization-kubeconfig=${kc("scheduler.conf")}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${s.schedulerPort}`,
        "--leader-elect=false",
        "--profiling=false",
        "--v=1",
      ],
    },
    {
      name: "kubelet",
      bin: bin("kubelet"),
      args: [
        `--config=${join(p.config, "kubelet.json")}`,
        `--kubeconfig=${kc("kubelet.conf")}`,
        `--root-dir=${p.kubeletRoot}`,
        `--cert-dir=${join(p.kubeletRoot, "pki")}`,
        `--hostname-override=${s.nodeName}`,
        `--node-ip=${s.gateway}`,
        "--v=1",
      ],
    },
    {
      name: "kube-proxy",
      bin: bin("kube-proxy"),
      args: [`--config=${join(p.config, "kube-proxy.json")}`, "--v=1"],
    },
  ];
}
