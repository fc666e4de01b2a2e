/**
 * The kind cluster configuration the provider creates (pure, unit-tested): one control-plane
 * node, containerd reading per-registry host files (how kind documents a local registry),
 * and the e2e's NodePorts published on 127.0.0.1 only, so test traffic stays on loopback.
 */
import YAML from "yaml";

export interface KindConfigOptions {
  /** NodePorts to publish as 127.0.0.1:<port> -> node:<port>. */
  nodePorts: number[];
}

/**
 * The NodePorts the kind config publishes: MLFLOW_K8S_NODE_PORT (default 30080) for the
 * release under test (the e2e and `./dev up` give MLflow's Service this one), and the next
 * port for a side release next to it (the e2e's upgrade phases).
 */
export function defaultNodePorts(env: NodeJS.ProcessEnv = process.env): number[] {
  const raw = env.MLFLOW_K8S_NODE_PORT ?? "30080";
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 30000 || port > 32766) throw new Error(`MLFLOW_K8S_NODE_PORT must be from 30000 to 32766 (the NodePort range, and the port after it), got "${raw}"`);
  return [port, port + 1];
}

export function renderKindConfig(opts: KindConfigOptions): string {
  const config = {
    kind: "Cluster",
    apiVersion: "kind.x-k8s.io/v1alpha4",
    containerdConfigPatches: ['[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"'],
    nodes: [
      {
        role: "control-plane",
        extraPortMappings: opts.nodePorts.map((port) => ({ containerPort: port, hostPort: port, listenAddress: "127.0.0.1", protocol: "TCP" })),
      },
    ],
  };
  return YAML.stringify(config);
}
