/**
 * The kind provider's pure parts: its cluster config, the registry wiring it writes into
 * nodes and the cluster, kubeadm's image list, the engine's flags and capability check, and
 * the runc wrapper's rewrite of an OCI spec (the real runc is not run here; the e2e starts
 * privileged kind nodes through the wrapper).
 */
import { describe, expect, it } from "vitest";
import { $ } from "zx";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { defaultNodePorts, renderKindConfig } from "../src/kind/config.ts";
import { registryPort, renderHostsToml, renderRegistryConfigMap } from "../src/kind/registry.ts";
import { KIND_MANIFESTS, MANIFEST_IMAGES, NODE_IMAGE_DIR, parseKubeadmImages, tagOf } from "../src/kind/nodeimage.ts";
import { RUNC_WRAPPER, dockerdArgs, engineLayout, inBoundingSet } from "../src/kind/engine.ts";

describe("kind cluster config", () => {
  it("publishes each NodePort on 127.0.0.1 only, and lets containerd read per-registry host files", () => {
    const cfg = YAML.parse(renderKindConfig({ nodePorts: [30080] }));
    expect(cfg.kind).toBe("Cluster");
    expect(cfg.nodes).toHaveLength(1);
    expect(cfg.nodes[0].extraPortMappings).toEqual([{ containerPort: 30080, hostPort: 30080, listenAddress: "127.0.0.1", protocol: "TCP" }]);
    expect(cfg.containerdConfigPatches[0]).toContain('config_path = "/etc/containerd/certs.d"');
  });

  it("publishes MLFLOW_K8S_NODE_PORT and the port after it (a side release's), and refuses one outside the NodePort range", () => {
    expect(defaultNodePorts({})).toEqual([30080, 30081]);
    expect(defaultNodePorts({ MLFLOW_K8S_NODE_PORT: "31000" })).toEqual([31000, 31001]);
    expect(() => defaultNodePorts({ MLFLOW_K8S_NODE_PORT: "8080" })).toThrow('MLFLOW_K8S_NODE_PORT must be from 30000 to 32766 (the NodePort range, and the port after it), got "8080"');
  });
});

describe("local registry wiring", () => {
  it("maps localhost:<port> to the registry container on kind's network, over plain HTTP", () => {
    expect(renderHostsToml("mlflow-k8s-registry")).toBe('[host."http://mlflow-k8s-registry:5000"]\n  capabilities = ["pull", "resolve"]\n');
  });

  it("advertises the registry in kube-public/local-registry-hosting (KEP-1755)", () => {
    const cm = YAML.parse(renderRegistryConfigMap("localhost:5001"));
    expect(cm.metadata).toEqual({ name: "local-registry-hosting", namespace: "kube-public" });
    expect(YAML.parse(cm.data["localRegistryHosting.v1"]).host).toBe("localhost:5001");
  });

  it("takes its port from MLFLOW_K8S_REGISTRY_PORT and names a bad one", () => {
    expect(registryPort({})).toBe(5001);
    expect(registryPort({ MLFLOW_K8S_REGISTRY_PORT: "5555" })).toBe(5555);
    expect(() => registryPort({ MLFLOW_K8S_REGISTRY_PORT: "http" })).toThrow('MLFLOW_K8S_REGISTRY_PORT must be a port number from 1 to 65535, got "http"');
  });
});

describe("kubeadm's image list", () => {
  const out = [
    "registry.k8s.io/kube-apiserver:v1.34.4",
    "registry.k8s.io/kube-controller-manager:v1.34.4",
    "registry.k8s.io/kube-scheduler:v1.34.4",
    "registry.k8s.io/kube-proxy:v1.34.4",
    "registry.k8s.io/coredns/coredns:v1.12.1",
    "registry.k8s.io/pause:3.10.1",
    "registry.k8s.io/etcd:3.6.5-0",
    "",
  ].join("\n");

  it("names each image the node must hold, tagged as kubeadm will ask for it", () => {
    const i = parseKubeadmImages(out);
    expect(i.apiserver).toBe("registry.k8s.io/kube-apiserver:v1.34.4");
    expect(i.coredns).toBe("registry.k8s.io/coredns/coredns:v1.12.1");
    expect(i.etcd).toBe("registry.k8s.io/etcd:3.6.5-0");
    expect(tagOf(i.etcd)).toBe("3.6.5-0");
  });

  it("says which image is missing from kubeadm's output", () => {
    expect(() => parseKubeadmImages(out.replace("registry.k8s.io/pause:3.10.1\n", ""))).toThrow("kubeadm config images list names no pause image");
  });
});

describe("the node image's manifests", () => {
  /** Every image reference a manifest makes the node run: container images and the provisioner's --helper-image. */
  function imagesNamedBy(file: string): string[] {
    const refs: string[] = [];
    const walk = (x: unknown): void => {
      if (Array.isArray(x)) {
        x.forEach((v, i) => {
          if (v === "--helper-image" && typeof x[i + 1] === "string") refs.push(x[i + 1] as string);
          else walk(v);
        });
      } else if (x && typeof x === "object") {
        for (const [k, v] of Object.entries(x)) {
          if (k === "image" && typeof v === "string") refs.push(v);
          else walk(v);
        }
      } else if (typeof x === "string" && x.includes("image:")) {
        walk(YAML.parse(x)); // helperPod.yaml, embedded in the ConfigMap
      }
    };
    for (const doc of YAML.parseAllDocuments(readFileSync(join(NODE_IMAGE_DIR, "manifests", file), "utf8"))) walk(doc.toJS());
    return refs;
  }

  it("name only images the node image imports and pins (nothing is ever pulled)", () => {
    const named = new Set(KIND_MANIFESTS.flatMap(imagesNamedBy));
    expect([...named].sort()).toEqual([...MANIFEST_IMAGES].sort());
  });

  it("give kind a default StorageClass, as kindest/node does", () => {
    const docs = YAML.parseAllDocuments(readFileSync(join(NODE_IMAGE_DIR, "manifests", "default-storage.yaml"), "utf8")).map((d) => d.toJS() as { kind: string; metadata: { name: string; annotations?: Record<string, string> }; provisioner?: string });
    const sc = docs.find((d) => d.kind === "StorageClass");
    expect(sc?.metadata.name).toBe("standard");
    expect(sc?.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"]).toBe("true");
    expect(sc?.provisioner).toBe("rancher.io/local-path");
  });
});

describe("the project's Docker engine", () => {
  it("keeps its data, socket and exec root apart from any system Docker, and adds the runc wrapper only when asked", () => {
    const l = engineLayout("/cache");
    const plain = dockerdArgs(l, {});
    expect(plain).toContain("--data-root=/cache/kind-docker/data");
    expect(plain).toContain("--host=unix:///run/mlflow-k8s-docker.sock");
    expect(plain).toContain("--config-file=/cache/kind-docker/daemon.json");
    expect(plain.some((a) => a.startsWith("--default-runtime"))).toBe(false);
    expect(dockerdArgs(l, { runcWrapper: "/w" })).toEqual(expect.arrayContaining(["--add-runtime=runc-without-sys-resource=/w", "--default-runtime=runc-without-sys-resource"]));
  });

  it("reads the capability bounding set from /proc/self/status", () => {
    // This machine's set (CAP_SYS_RESOURCE, bit 24, cleared) and a full one.
    expect(inBoundingSet("CapBnd:\t000001fffeffffff\n", 24)).toBe(false);
    expect(inBoundingSet("CapBnd:\t000001ffffffffff\n", 24)).toBe(true);
    expect(inBoundingSet("CapBnd:\t000001fffeffffff\n", 21)).toBe(true);
  });
});

describe("runc-without-sys-resource", () => {
  const caps = ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_SYS_RESOURCE", "CAP_NET_ADMIN"];
  const spec = { ociVersion: "1.0.2", process: { args: ["sh"], capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: caps } } };
  // RUNC_REAL=true: the wrapper's rewrite is what is checked; `true` stands in for runc's run.
  const wrap = (args: string[]) => $({ quiet: true, env: { ...process.env, RUNC_REAL: "true" } })`sh ${RUNC_WRAPPER} ${args}`;

  it("drops CAP_SYS_RESOURCE from every set of the bundle's config.json on create, keeping the rest", async () => {
    const bundle = mkdtempSync(join(tmpdir(), "bundle-"));
    writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
    await wrap(["--root", "/run/x", "--log", "/run/create", "create", "--bundle", bundle, "--pid-file", "/tmp/p", "id1"]);
    const out = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    for (const set of ["bounding", "effective", "permitted", "inheritable"]) expect(out.process.capabilities[set]).toEqual(["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_ADMIN"]);
    expect(out.process.args).toEqual(["sh"]);
  });

  it("drops it from the --process file on exec", async () => {
    const dir = mkdtempSync(join(tmpdir(), "proc-"));
    writeFileSync(join(dir, "p.json"), JSON.stringify(spec.process));
    await wrap(["exec", "--process", join(dir, "p.json"), "--detach", "id1"]);
    expect(JSON.parse(readFileSync(join(dir, "p.json"), "utf8")).capabilities.bounding).toEqual(["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_ADMIN"]);
  });

  it("leaves other commands' files alone", async () => {
    const bundle = mkdtempSync(join(tmpdir(), "bundle-"));
    writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
    await wrap(["state", "id1"]);
    expect(JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")).process.capabilities.bounding).toEqual(caps);
  });
});
