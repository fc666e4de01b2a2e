/**
 * Pure parsers for the kind and minikube providers: where pods reach this machine (the
 * e2e's PostgreSQL and GCS emulator listen there), and which Kubernetes version to ask for.
 * No I/O here, so each is unit-tested against the tools' real output shapes.
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

interface DockerNetwork {
  Name?: string;
  IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> | null };
}

/**
 * The IPv4 gateway of a Docker network from `docker network inspect <name>` (a JSON array of
 * one network). That address is the host's own interface on the network's bridge, which the
 * node containers route through, so pods reach host services there. kind's network is
 * dual-stack (an fc00:f853:… IPv6 subnet, usually listed first) and minikube's is IPv4 only;
 * the IPv6 entries are skipped. Old Docker releases print the gateway with a prefix length
 * ("172.18.0.1/16"); an entry without a Gateway gets Docker's default, the subnet's first
 * address.
 */
export function parseDockerNetworkGateway(inspectJson: string): string | undefined {
  let nets: DockerNetwork[];
  try {
    const v = JSON.parse(inspectJson) as DockerNetwork[] | DockerNetwork;
    nets = Array.isArray(v) ? v : [v];
  } catch {
    return undefined;
  }
  for (const n of nets) {
    for (const c of n.IPAM?.Config ?? []) {
      const gw = c.Gateway?.split("/")[0];
      if (gw && isIPv4(gw)) return gw;
      const subnet = c.Subnet?.split("/");
      if (!gw && subnet && subnet[0] && isIPv4(subnet[0]) && Number(subnet[1]) <= 30) {
        const o = subnet[0].split(".").map(Number);
        return `${o[0]}.${o[1]}.${o[2]}.${(o[3] ?? 0) + 1}`;
      }
    }
  }
  return undefined;
}

/**
 * The IPv4 address of `name` from `getent hosts <name>` ("192.168.49.1    host.minikube.internal")
 * or an /etc/hosts excerpt ("192.168.49.1\thost.minikube.internal"). Tolerates the CRLF
 * line ends an ssh session with a pty adds, and comments.
 */
export function parseHostsLookup(out: string, name: string): string | undefined {
  for (const raw of out.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const [addr, ...names] = line.split(/\s+/);
    if (addr && isIPv4(addr) && names.includes(name)) return addr;
  }
  return undefined;
}

/**
 * A Kubernetes version as the matrix gives it (KUBERNETES_VERSION, e.g. "v1.33.7" or "1.33.7"),
 * normalised to "v1.33.7". Undefined or empty: no preference (the tool's default).
 */
export function normaliseKubernetesVersion(v: string | undefined): string | undefined {
  const t = v?.trim();
  if (!t) return undefined;
  const m = /^v?(\d+\.\d+\.\d+)$/.exec(t);
  if (!m) throw new Error(`KUBERNETES_VERSION must look like v1.33.7, got "${v}"`);
  return `v${m[1]}`;
}

/** `kind create cluster` flags for a Kubernetes version: the node image kind publishes for it. */
export function kindVersionArgs(version: string | undefined): string[] {
  const v = normaliseKubernetesVersion(version);
  return v ? ["--image", `kindest/node:${v}`] : [];
}

/** `minikube start` flags for a Kubernetes version. */
export function minikubeVersionArgs(version: string | undefined): string[] {
  const v = normaliseKubernetesVersion(version);
  return v ? [`--kubernetes-version=${v}`] : [];
}

/** True if `args` already choose what `flag` chooses (as "--flag value" or "--flag=value"). */
export function hasFlag(args: string[], flag: string): boolean {
  return args.some((a) => a === flag || a.startsWith(flag + "="));
}
