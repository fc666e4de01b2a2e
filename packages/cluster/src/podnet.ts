/**
 * Keeps traffic to pod addresses on the node. The node routes each live pod's /32 to its veth
 * (ptp; kindnet likewise) and everything else to its default route: the host's bridge. So a
 * connection to a pod address that has no route (a pod just deleted, while kube-proxy still
 * DNATs the NodePort to it) leaves the node for the host, and the host forwards it off the
 * machine. Seen in the e2e's pod-kill phase on minikube: after the old pods' `socket hang up`,
 * the sandbox's egress filter answered `403 PERMISSION_DENIED: resolve_deny: denied
 * destination` for the dead pod's address. An `unreachable` route for the whole pod range
 * (the /32s of live pods are more specific) makes such a connection fail on the node at once,
 * which the client retries, and nothing addressed to a pod ever leaves this machine.
 */
import type { DockerTarget } from "./docker.ts";
import { docker$ } from "./docker.ts";

/** kind's and minikube's default pod subnet (kubeadm's podSubnet); the ptp config allocates the first node's /24 of it. */
export const POD_CIDR = "10.244.0.0/16";
/** An address of the pod range no pod gets (the first node allocates from 10.244.0.0/24): the probe. */
export const UNUSED_POD_ADDRESS = "10.244.255.254";

/** Run on the node as root: the unreachable route (idempotent), then how the probe address is routed. */
export const CONTAIN_POD_TRAFFIC_SCRIPT = `ip route replace unreachable ${POD_CIDR} && ip route get ${UNUSED_POD_ADDRESS} 2>&1 || true`;

/**
 * Given `ip route get <address>`'s output on the node: undefined when the address is
 * unreachable there, else why that is a leak (the first line: where the node would send it).
 */
export function podRouteLeak(routeGetOutput: string, address = UNUSED_POD_ADDRESS): string | undefined {
  const out = routeGetOutput.trim();
  if (/No route to host|unreachable/i.test(out)) return undefined;
  const first = out.split("\n")[0]?.trim() ?? "";
  return `the node routes pod address ${address} as "${first}", not as unreachable: a connection to a deleted pod would leave the node through its default route and this machine`;
}

/** Adds the unreachable route on a node container and checks it took; throws a one-line error if not. */
export async function containPodTraffic(target: DockerTarget, node: string): Promise<void> {
  const r = await docker$(target)`${target.bin} exec ${node} sh -c ${CONTAIN_POD_TRAFFIC_SCRIPT}`.nothrow();
  const leak = r.exitCode === 0 ? podRouteLeak(r.stdout) : `\`ip route replace unreachable ${POD_CIDR}\` failed on ${node}: ${(r.stdout + r.stderr).trim().split("\n")[0]}`;
  if (leak) throw new Error(`node ${node}: ${leak}`);
}
