import { describe, expect, it } from "vitest";
import { archivePath, assertPinnedTag, renderImageConfig } from "../src/offline-images.ts";
import { dockerBuildArgs } from "../src/docker.ts";
import { ExistingProvider, imageAliases, namesRegistry } from "../src/providers/existing.ts";

describe("image references", () => {
  it("refuses :latest and untagged references (the kubelet would try to pull them)", () => {
    expect(() => assertPinnedTag("mlflow-k8s/mlflow")).toThrow(/no tag/);
    expect(() => assertPinnedTag("mlflow-k8s/mlflow:latest")).toThrow(/latest/);
    expect(() => assertPinnedTag("localhost:5000/mlflow")).toThrow(/no tag/);
    expect(() => assertPinnedTag("mlflow-k8s/mlflow:3.6.0")).not.toThrow();
    expect(() => assertPinnedTag("localhost:5000/mlflow:3.6.0")).not.toThrow();
  });

  it("tells references that name a registry (the nodes pull them) from short ones", () => {
    expect(["localhost:5001/mlflow:1", "europe-docker.pkg.dev/p/r/mlflow:1", "localhost/mlflow:1"].map(namesRegistry)).toEqual([true, true, true]);
    expect(["mlflow-k8s/mlflow:1", "busybox:1.36"].map(namesRegistry)).toEqual([false, false]);
  });

  it("existing: a reference naming a registry is taken as pullable without asking the nodes; builds only with --registry", async () => {
    const p = new ExistingProvider({ context: "no-such-context" });
    expect(await p.loadImage("localhost:5001/mlflow:3.17.2")).toBe("localhost:5001/mlflow:3.17.2");
    expect(p.buildImage).toBeUndefined();
    expect(new ExistingProvider({ context: "c", registry: "localhost:5001" }).buildImage).toBeTypeOf("function");
  });

  it("knows the names containerd gives short references", () => {
    expect(imageAliases("mlflow-k8s/mlflow:3.6.0")).toEqual(["mlflow-k8s/mlflow:3.6.0", "docker.io/mlflow-k8s/mlflow:3.6.0"]);
    expect(imageAliases("busybox:1.36")).toEqual(["busybox:1.36", "docker.io/library/busybox:1.36"]);
    expect(imageAliases("registry.k8s.io/pause:3.10.1")).toEqual(["registry.k8s.io/pause:3.10.1"]);
  });

  it("names cached archives after the reference", () => {
    expect(archivePath("/c/images", "registry.k8s.io/pause:3.10.1")).toBe("/c/images/registry.k8s.io_pause_3.10.1.tar");
  });
});

describe("image config", () => {
  it("records the layer's diff id and the entrypoint", () => {
    const c = JSON.parse(renderImageConfig("ab".repeat(32), { entrypoint: ["/pause"], user: "65535:65535" }));
    expect(c.rootfs).toEqual({ type: "layers", diff_ids: [`sha256:${"ab".repeat(32)}`] });
    expect(c.config.Entrypoint).toEqual(["/pause"]);
    expect(c.config.User).toBe("65535:65535");
    expect(c.os).toBe("linux");
  });
});

describe("docker build arguments", () => {
  it("passes tag, Dockerfile, build args and host networking", () => {
    expect(
      dockerBuildArgs(
        { context: "images/mlflow", tag: "mlflow-k8s/mlflow:3.6.0", dockerfile: "images/mlflow/Dockerfile", buildArgs: { BASE_IMAGE: "mlflow-k8s/debian:bookworm" } },
        { networkHost: true },
      ),
    ).toEqual(["build", "-t", "mlflow-k8s/mlflow:3.6.0", "-f", "images/mlflow/Dockerfile", "--build-arg", "BASE_IMAGE=mlflow-k8s/debian:bookworm", "--network", "host", "images/mlflow"]);
  });
});
