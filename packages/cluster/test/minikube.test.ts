import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { commonStartArgs, offlineStartArgs } from "../src/providers/minikube.ts";
import { storageProvisionerImage } from "../src/minikube/kicbase.ts";
import { MINIKUBE_VERSION } from "../src/layout.ts";

describe("minikube start flags", () => {
  it("uses the docker driver with containerd and publishes the NodePorts on 127.0.0.1 only", () => {
    const a = commonStartArgs([30080, 30081], false);
    expect(a).toEqual(["--driver=docker", "--container-runtime=containerd", "--interactive=false", "--wait=all", "--ports=127.0.0.1:30080:30080,127.0.0.1:30081:30081"]);
    expect(commonStartArgs([], false).some((f) => f.startsWith("--ports"))).toBe(false);
    expect(commonStartArgs([30080], true)).toContain("--force");
  });

  it("offline: our base image, nothing downloaded, our CNI manifest instead of kindnet", () => {
    const a = offlineStartArgs("mlflow-k8s/kicbase:v1.34.4-abc", "/x/default-cni.yaml");
    expect(a).toEqual(["--base-image=mlflow-k8s/kicbase:v1.34.4-abc", "--preload=false", "--cache-images=false", "--cni=/x/default-cni.yaml"]);
  });
});

describe("minikube from source", () => {
  it("builds the version the workflow pins", () => {
    const script = readFileSync(new URL("../from-source/build-minikube.sh", import.meta.url), "utf8");
    const workflow = readFileSync(new URL("../../../.github/workflows/e2e.yml", import.meta.url), "utf8");
    expect(script).toContain(`MINIKUBE_VERSION="\${MINIKUBE_VERSION:-${MINIKUBE_VERSION}}"`);
    expect(workflow).toContain(`MINIKUBE_VERSION: ${MINIKUBE_VERSION}`);
    const setup = readFileSync(new URL("../../../scripts/setup.sh", import.meta.url), "utf8");
    expect(setup).toContain(`"$(minikube version --short 2>/dev/null)" != ${MINIKUBE_VERSION}`);
  });

  it("names the storage-provisioner image as minikube's addon does", () => {
    expect(storageProvisionerImage("v5")).toBe("gcr.io/k8s-minikube/storage-provisioner:v5");
  });
});
