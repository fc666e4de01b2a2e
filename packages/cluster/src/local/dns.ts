/**
 * Cluster DNS for the local provider: CoreDNS as kube-system objects, in the shape kubeadm
 * deploys it (ConfigMap `coredns`, ServiceAccount + ClusterRole/Binding `system:coredns`,
 * Deployment `coredns`, Service `kube-dns` on a fixed ClusterIP). Pure renderers, no I/O:
 * the provider applies them with server-side apply (PATCH application/apply-patch+yaml),
 * which creates an object or updates it in place, so `up` on a running cluster is a no-op.
 */
import type { LocalClusterSettings } from "./layout.ts";
import { COREDNS_IMAGE } from "./layout.ts";

export const DNS_NAMESPACE = "kube-system";
export const DNS_DEPLOYMENT = "coredns";
export const DNS_SERVICE = "kube-dns";
/** The label kubeadm and kube-dns before it put on DNS pods and the Service. */
export const DNS_LABELS = { "k8s-app": "kube-dns" } as const;
/** CoreDNS's `ready` plugin: 200 once every plugin (the kubernetes one: its first sync) is ready. */
export const DNS_READY_PORT = 8181;
export const DNS_HEALTH_PORT = 8080;

/**
 * The Corefile. Like kubeadm's, without `loop`: that plugin sends a probe query for a random
 * name through `forward` at start, i.e. to the host's upstream resolver, which pods on this
 * cluster cannot reach anyway (the CNI bridge does not masquerade); the loop it guards
 * against (a resolv.conf naming a loopback stub resolver) is not the case for CoreDNS's pod,
 * which gets the node's /etc/resolv.conf (dnsPolicy Default).
 */
export function renderCorefile(s: LocalClusterSettings): string {
  return `.:53 {
    errors
    health :${DNS_HEALTH_PORT}
    ready :${DNS_READY_PORT}
    kubernetes ${s.clusterDomain} in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
        max_concurrent 1000
    }
    cache 30
    reload
    loadbalance
}
`;
}

export interface ApiObject {
  /** The object's REST path (for a server-side apply PATCH). */
  path: string;
  body: Record<string, unknown>;
}

const ns = DNS_NAMESPACE;
const managedBy = { "app.kubernetes.io/managed-by": "mlflow-k8s-local" };

/** Every object of the cluster DNS, in apply order (RBAC and config before the Deployment). */
export function renderDnsObjects(s: LocalClusterSettings): ApiObject[] {
  const meta = (name: string, namespaced = true) => ({
    name,
    ...(namespaced ? { namespace: ns } : {}),
    labels: { ...DNS_LABELS, ...managedBy },
  });
  return [
    {
      path: `/api/v1/namespaces/${ns}/serviceaccounts/coredns`,
      body: { apiVersion: "v1", kind: "ServiceAccount", metadata: meta("coredns") },
    },
    {
      path: "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:coredns",
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: meta("system:coredns", false),
        rules: [
          { apiGroups: [""], resources: ["endpoints", "services", "pods", "namespaces"], verbs: ["list", "watch"] },
          { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
        ],
      },
    },
    {
      path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:coredns",
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: meta("system:coredns", false),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:coredns" },
        subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: ns }],
      },
    },
    {
      path: `/api/v1/namespaces/${ns}/configmaps/coredns`,
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: meta("coredns"), data: { Corefile: renderCorefile(s) } },
    },
    {
      path: `/apis/apps/v1/namespaces/${ns}/deployments/${DNS_DEPLOYMENT}`,
      body: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: meta(DNS_DEPLOYMENT),
        spec: {
          replicas: 1,
          selector: { matchLabels: { ...DNS_LABELS } },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
          template: {
            metadata: { labels: { ...DNS_LABELS } },
            spec: {
              serviceAccountName: "coredns",
              priorityClassName: "system-cluster-critical",
              // CoreDNS itself resolves upstream names through the node's resolv.conf.
              dnsPolicy: "Default",
              tolerations: [{ key: "CriticalAddonsOnly", operator: "Exists" }, { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }],
              nodeSelector: { "kubernetes.io/os": "linux" },
              // Pods are deleted with grace 0 on down; nothing to drain.
              terminationGracePeriodSeconds: 5,
              containers: [
                {
                  name: "coredns",
                  image: COREDNS_IMAGE,
                  // Built and imported by up(); never pulled (no registry is reachable).
                  imagePullPolicy: "Never",
                  args: ["-conf", "/etc/coredns/Corefile"],
                  ports: [
                    { name: "dns", containerPort: 53, protocol: "UDP" },
                    { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
                    { name: "metrics", containerPort: 9153, protocol: "TCP" },
                  ],
                  resources: { requests: { cpu: "50m", memory: "70Mi" }, limits: { memory: "170Mi" } },
                  volumeMounts: [{ name: "config-volume", mountPath: "/etc/coredns", readOnly: true }],
                  // Probed every second so `up` sees Ready as soon as the first sync is done.
                  readinessProbe: { httpGet: { path: "/ready", port: DNS_READY_PORT, scheme: "HTTP" }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 3 },
                  livenessProbe: {
                    httpGet: { path: "/health", port: DNS_HEALTH_PORT, scheme: "HTTP" },
                    initialDelaySeconds: 60,
                    periodSeconds: 10,
                    timeoutSeconds: 5,
                    failureThreshold: 5,
                  },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    capabilities: { add: ["NET_BIND_SERVICE"], drop: ["ALL"] },
                    readOnlyRootFilesystem: true,
                  },
                },
              ],
              volumes: [{ name: "config-volume", configMap: { name: "coredns", items: [{ key: "Corefile", path: "Corefile" }] } }],
            },
          },
        },
      },
    },
    {
      path: `/api/v1/namespaces/${ns}/services/${DNS_SERVICE}`,
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { ...meta(DNS_SERVICE), labels: { ...DNS_LABELS, ...managedBy, "kubernetes.io/name": "CoreDNS" } },
        spec: {
          selector: { ...DNS_LABELS },
          clusterIP: s.dnsServiceIp,
          ports: [
            { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
            { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: 53 },
            { name: "metrics", port: 9153, protocol: "TCP", targetPort: 9153 },
          ],
        },
      },
    },
  ];
}

/** True when `ip` lies inside the IPv4 CIDR `cidr` (e.g. the fixed DNS ClusterIP in the service range). */
export function ipv4InCidr(ip: string, cidr: string): boolean {
  const [base, bitsStr] = cidr.split("/");
  const bits = Number(bitsStr);
  const toInt = (a: string) => {
    const parts = a.split(".").map(Number);
    if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) throw new Error(`not an IPv4 address: ${a}`);
    return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
  };
  if (!base || !Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (toInt(ip) & mask) === (toInt(base) & mask);
}
