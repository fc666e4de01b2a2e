import { describe, expect, it } from "vitest";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { nodeAddress, serviceNodePort } from "../src/kube.ts";

const node = (name: string, ready: boolean, addresses: [string, string][]): V1Node => ({
  metadata: { name },
  status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }], addresses: addresses.map(([type, address]) => ({ type, address })) },
});

const service = (type: string, ports: { name?: string; port: number; nodePort?: number }[]): V1Service => ({ metadata: { name: "mlflow", namespace: "ml" }, spec: { type, ports } });

describe("node address discovery", () => {
  it("prefers the provider's NodePort host (kind publishes them on 127.0.0.1)", () => {
    expect(nodeAddress([node("n1", true, [["InternalIP", "10.0.0.5"]])], "127.0.0.1")).toBe("127.0.0.1");
  });

  it("takes the InternalIP of the first Ready node, skipping NotReady ones", () => {
    const nodes = [node("down", false, [["InternalIP", "10.0.0.9"]]), node("up", true, [["Hostname", "up"], ["InternalIP", "172.18.0.2"]])];
    expect(nodeAddress(nodes)).toBe("172.18.0.2");
  });

  it("falls back to an ExternalIP when no Ready node has an InternalIP", () => {
    expect(nodeAddress([node("n", true, [["ExternalIP", "34.1.2.3"]])])).toBe("34.1.2.3");
  });

  it("says so when no node is Ready", () => {
    expect(() => nodeAddress([node("n1", false, [])])).toThrow(/no Ready node among 1 node\(s\): n1/);
  });
});

describe("nodePort discovery", () => {
  it("finds the nodePort of the http port", () => {
    expect(serviceNodePort(service("NodePort", [{ name: "metrics", port: 9090, nodePort: 31000 }, { name: "http", port: 5000, nodePort: 30500 }]), "http")).toBe(30500);
  });

  it("refuses a ClusterIP Service with a message saying what to change", () => {
    expect(() => serviceNodePort(service("ClusterIP", [{ name: "http", port: 5000 }]), "http")).toThrow(/type ClusterIP, which has no node port: install with service.type=NodePort/);
  });

  it("reports a port that has no nodePort assigned yet", () => {
    expect(() => serviceNodePort(service("NodePort", [{ name: "http", port: 5000 }]), "http")).toThrow(/no nodePort assigned yet/);
  });
});
