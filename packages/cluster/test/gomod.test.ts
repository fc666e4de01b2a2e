import { describe, expect, it } from "vitest";
import { parseUpstreamGoMod, renderWrapperGoMod, stagingVersion, versionLdflags } from "../src/gomod.ts";

// A trimmed copy of the shape of k8s.io/kubernetes v1.34.x's go.mod.
const SAMPLE = `// This is a generated file. Do not edit directly.

module k8s.io/kubernetes

go 1.24.0

godebug default=go1.24

require (
	github.com/spf13/cobra v1.9.1
	k8s.io/api v0.0.0
	k8s.io/client-go v0.0.0 // indirect
)

require go.etcd.io/etcd/server/v3 v3.6.4 // indirect

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/kube-proxy => ./staging/src/k8s.io/kube-proxy // comment
	github.com/some/fork => github.com/other/fork v1.2.3
)

replace k8s.io/sample-controller => ./staging/src/k8s.io/sample-controller
`;

describe("wrapper go.mod generation", () => {
  it("finds every staging module, in blocks and single-line replaces, and ignores other replaces", () => {
    const m = parseUpstreamGoMod(SAMPLE);
    expect(m.stagingModules).toEqual(["k8s.io/api", "k8s.io/client-go", "k8s.io/kube-proxy", "k8s.io/sample-controller"]);
  });

  it("copies the go directive and the godebug line", () => {
    const m = parseUpstreamGoMod(SAMPLE);
    expect(m.goVersion).toBe("1.24.0");
    expect(m.godebug).toEqual(["default=go1.24"]);
  });

  it("maps a Kubernetes release to its staging tag", () => {
    expect(stagingVersion("v1.34.4")).toBe("v0.34.4");
    expect(() => stagingVersion("1.34")).toThrow(/v1\.34\.4/);
  });

  it("renders a wrapper that requires the release and replaces each staging module with its published version", () => {
    const out = renderWrapperGoMod(parseUpstreamGoMod(SAMPLE), "v1.34.4", { extraRequires: { "go.etcd.io/etcd/server/v3": "v3.6.4" } });
    expect(out).toContain("go 1.24.0\n");
    expect(out).toContain("godebug default=go1.24\n");
    expect(out).toContain("\tk8s.io/kubernetes v1.34.4\n");
    expect(out).toContain("\tgo.etcd.io/etcd/server/v3 v3.6.4\n");
    expect(out).toContain("\tk8s.io/api => k8s.io/api v0.34.4\n");
    expect(out).toContain("\tk8s.io/sample-controller => k8s.io/sample-controller v0.34.4\n");
    expect(out).not.toContain("github.com/some/fork");
    expect(out).not.toContain("./staging");
  });

  it("refuses a go.mod without staging replaces (not k8s.io/kubernetes')", () => {
    expect(() => renderWrapperGoMod(parseUpstreamGoMod("module x\n\ngo 1.22\n"), "v1.34.4")).toThrow(/staging/);
  });

  it("sets upstream's version variables in both version packages", () => {
    const flags = versionLdflags("v1.34.4", "2026-02-10T12:53:36Z");
    for (const pkg of ["k8s.io/client-go/pkg/version", "k8s.io/component-base/version"]) {
      expect(flags).toContain(`-X ${pkg}.gitVersion=v1.34.4`);
      expect(flags).toContain(`-X ${pkg}.gitMajor=1`);
      expect(flags).toContain(`-X ${pkg}.gitMinor=34`);
      expect(flags).toContain(`-X ${pkg}.buildDate=2026-02-10T12:53:36Z`);
    }
  });
});
