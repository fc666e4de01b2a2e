import { describe, expect, it } from "vitest";
import {
  hasFlag,
  kindVersionArgs,
  minikubeVersionArgs,
  normaliseKubernetesVersion,
  parseDockerNetworkGateway,
  parseHostsLookup,
} from "../src/hostaddr.ts";
import { KindProvider } from "../src/providers/kind.ts";
import { MinikubeProvider } from "../src/providers/minikube.ts";

// `docker network inspect kind` after `kind create cluster` (Docker 28): kind makes the network
// dual-stack with a ULA IPv6 subnet, which Docker lists before the IPv4 one.
const KIND_NETWORK = `[
    {
        "Name": "kind",
        "Id": "5c3f1b0a9e2d4c7f8a6b1e0d3c2b5a4f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
        "Created": "2025-11-20T09:14:03.512345678Z",
        "Scope": "local",
        "Driver": "bridge",
        "EnableIPv4": true,
        "EnableIPv6": true,
        "IPAM": {
            "Driver": "default",
            "Options": {},
            "Config": [
                {
                    "Subnet": "fc00:f853:ccd:e793::/64",
                    "Gateway": "fc00:f853:ccd:e793::1"
                },
                {
                    "Subnet": "172.18.0.0/16",
                    "Gateway": "172.18.0.1"
                }
            ]
        },
        "Internal": false,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {
            "Network": ""
        },
        "ConfigOnly": false,
        "Containers": {
            "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0": {
                "Name": "mlflow-k8s-control-plane",
                "EndpointID": "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
                "MacAddress": "02:42:ac:12:00:02",
                "IPv4Address": "172.18.0.2/16",
                "IPv6Address": "fc00:f853:ccd:e793::2/64"
            }
        },
        "Options": {
            "com.docker.network.bridge.enable_ip_masquerade": "true",
            "com.docker.network.driver.mtu": "1500"
        },
        "Labels": {}
    }
]
`;

// `docker network inspect mlflow-k8s` for a minikube profile on the docker driver.
const MINIKUBE_NETWORK = `[
    {
        "Name": "mlflow-k8s",
        "Id": "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9",
        "Created": "2025-11-20T09:20:11.004455667Z",
        "Scope": "local",
        "Driver": "bridge",
        "EnableIPv6": false,
        "IPAM": {
            "Driver": "default",
            "Options": {},
            "Config": [
                {
                    "Subnet": "192.168.49.0/24",
                    "Gateway": "192.168.49.1"
                }
            ]
        },
        "Internal": false,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {
            "Network": ""
        },
        "ConfigOnly": false,
        "Containers": {},
        "Options": {
            "--icc": "",
            "--ip-masq": "",
            "com.docker.network.driver.mtu": "1500"
        },
        "Labels": {
            "created_by.minikube.sigs.k8s.io": "true",
            "name.minikube.sigs.k8s.io": "mlflow-k8s"
        }
    }
]
`;

describe("host address for pods: docker network inspect", () => {
  it("takes the IPv4 gateway of kind's dual-stack network, skipping the IPv6 one listed first", () => {
    expect(parseDockerNetworkGateway(KIND_NETWORK)).toBe("172.18.0.1");
  });

  it("takes the gateway of a minikube profile's network", () => {
    expect(parseDockerNetworkGateway(MINIKUBE_NETWORK)).toBe("192.168.49.1");
  });

  it("drops the prefix length older Docker releases print on the gateway", () => {
    expect(parseDockerNetworkGateway('[{"Name":"foo","IPAM":{"Config":[{"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1/16"}]}}]')).toBe("172.18.0.1");
  });

  it("uses Docker's default gateway (the subnet's first address) when none is listed", () => {
    expect(parseDockerNetworkGateway('[{"Name":"kind","IPAM":{"Config":[{"Subnet":"fc00:f853:ccd:e793::/64"},{"Subnet":"172.19.0.0/16"}]}}]')).toBe("172.19.0.1");
  });

  it("returns nothing for an IPv6-only network, an unknown network or garbage", () => {
    expect(parseDockerNetworkGateway('[{"Name":"v6","IPAM":{"Config":[{"Subnet":"fd00::/64","Gateway":"fd00::1"}]}}]')).toBeUndefined();
    // `docker network inspect nope` prints "[]" on stdout (and an error on stderr, exit 1).
    expect(parseDockerNetworkGateway("[]\n")).toBeUndefined();
    expect(parseDockerNetworkGateway("Error: No such network: kind")).toBeUndefined();
    expect(parseDockerNetworkGateway('[{"Name":"none","IPAM":{"Config":null}}]')).toBeUndefined();
  });
});

describe("host address for pods: minikube ssh -- getent hosts host.minikube.internal", () => {
  it("reads getent's address column", () => {
    expect(parseHostsLookup("192.168.49.1    host.minikube.internal\n", "host.minikube.internal")).toBe("192.168.49.1");
  });

  it("tolerates the CRLF line ends of an ssh session with a pty", () => {
    expect(parseHostsLookup("192.168.49.1    host.minikube.internal\r\n", "host.minikube.internal")).toBe("192.168.49.1");
  });

  it("finds the name in an /etc/hosts excerpt among other entries, ignoring comments", () => {
    const hosts = [
      "127.0.0.1\tlocalhost",
      "::1\tlocalhost ip6-localhost ip6-loopback",
      "# host.minikube.internal is written by minikube start",
      "192.168.49.2\tmlflow-k8s",
      "192.168.49.1\thost.minikube.internal",
      "192.168.49.2\tcontrol-plane.minikube.internal",
    ].join("\n");
    expect(parseHostsLookup(hosts, "host.minikube.internal")).toBe("192.168.49.1");
  });

  it("returns nothing when the name is absent or only a prefix of another name", () => {
    expect(parseHostsLookup("", "host.minikube.internal")).toBeUndefined();
    expect(parseHostsLookup("192.168.49.2 control-plane.minikube.internal\n", "host.minikube.internal")).toBeUndefined();
    expect(parseHostsLookup("192.168.49.1 host.minikube.internal.example\n", "host.minikube.internal")).toBeUndefined();
  });
});

describe("KUBERNETES_VERSION", () => {
  it("normalises the matrix's versions, with or without the v", () => {
    expect(normaliseKubernetesVersion("v1.33.7")).toBe("v1.33.7");
    expect(normaliseKubernetesVersion(" 1.34.3 ")).toBe("v1.34.3");
    expect(normaliseKubernetesVersion(undefined)).toBeUndefined();
    expect(normaliseKubernetesVersion("")).toBeUndefined();
  });

  it("refuses what no tool would accept", () => {
    expect(() => normaliseKubernetesVersion("1.33")).toThrow(/v1\.33\.7/);
    expect(() => normaliseKubernetesVersion("latest")).toThrow(/KUBERNETES_VERSION/);
  });

  it("asks kind for that version's node image, and minikube for the version", () => {
    expect(kindVersionArgs("v1.33.7")).toEqual(["--image", "kindest/node:v1.33.7"]);
    expect(minikubeVersionArgs("1.34.3")).toEqual(["--kubernetes-version=v1.34.3"]);
    expect(kindVersionArgs(undefined)).toEqual([]);
    expect(minikubeVersionArgs("")).toEqual([]);
  });

  it("recognises a flag given either way", () => {
    expect(hasFlag(["--image", "x"], "--image")).toBe(true);
    expect(hasFlag(["--kubernetes-version=v1.30.0"], "--kubernetes-version")).toBe(true);
    expect(hasFlag(["--images"], "--image")).toBe(false);
  });

  it("is passed to kind create and minikube start, unless the caller chose already", async () => {
    expect(await new KindProvider({ kubernetesVersion: "v1.33.7", nodeImage: "kind" }).createArgs()).toEqual(["--image", "kindest/node:v1.33.7"]);
    expect(await new KindProvider({ kubernetesVersion: "v1.33.7", createArgs: ["--image", "kindest/node:v1.32.0"] }).createArgs()).toEqual(["--image", "kindest/node:v1.32.0"]);
    expect(new MinikubeProvider({ kubernetesVersion: "v1.34.3" }).createArgs).toEqual(["--kubernetes-version=v1.34.3"]);
    expect(new MinikubeProvider({ kubernetesVersion: "" }).createArgs).toEqual([]);
    expect(new MinikubeProvider({ kubernetesVersion: "v1.34.3", createArgs: ["--kubernetes-version=v1.33.7"] }).createArgs).toEqual(["--kubernetes-version=v1.33.7"]);
  });
});
