import { describe, expect, it } from "vitest";
import { defaultSettings, paths, COREDNS_IMAGE, COREDNS_VERSION } from "../src/local/layout.ts";
import { renderKubeletConfig } from "../src/local/render.ts";
import { ipv4InCidr, renderCorefile, renderDnsObjects } from "../src/local/dns.ts";
import { assertPinnedTag } from "../src/local/images.ts";

const s = defaultSettings({ MLFLOW_K8S_CACHE: "/cache", HOME: "/root" });
const p = paths(s);
const objects = renderDnsObjects(s);
const byKind = (kind: string) => {
  const o = objects.find((x) => x.body.kind === kind);
  if (!o) throw new Error(`no ${kind}`);
  return o;
};
// Deep property access on the rendered JSON without a schema.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const deploy = byKind("Deployment").body as any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const svc = byKind("Service").body as any;

describe("cluster DNS (CoreDNS)", () => {
  it("puts the kube-dns ClusterIP inside the service CIDR, but not on the API Service address", () => {
    expect(ipv4InCidr(s.dnsServiceIp, s.serviceCidr)).toBe(true);
    expect(s.dnsServiceIp).not.toBe(s.apiServiceIp);
    expect(svc.spec.clusterIP).toBe(s.dnsServiceIp);
    expect(svc.metadata).toMatchObject({ name: "kube-dns", namespace: "kube-system" });
  });

  it("checks CIDR membership on the mask, not on the text", () => {
    expect(ipv4InCidr("10.96.255.254", "10.96.0.0/16")).toBe(true);
    expect(ipv4InCidr("10.97.0.10", "10.96.0.0/16")).toBe(false);
    expect(ipv4InCidr("1.2.3.4", "0.0.0.0/0")).toBe(true);
    expect(() => ipv4InCidr("10.96.0", "10.96.0.0/16")).toThrow(/IPv4/);
  });

  it("tells the kubelet to give pods the DNS Service and the cluster domain", () => {
    const k = JSON.parse(renderKubeletConfig(s, p)) as { clusterDNS: string[]; clusterDomain: string };
    expect(k.clusterDNS).toEqual([s.dnsServiceIp]);
    expect(k.clusterDomain).toBe("cluster.local");
  });

  it("serves the cluster domain from the API, forwards the rest to the node's resolver, reports readiness on 8181", () => {
    const c = renderCorefile(s);
    expect(c).toMatch(/kubernetes cluster\.local in-addr\.arpa ip6\.arpa \{/);
    expect(c).toContain("forward . /etc/resolv.conf");
    expect(c).toMatch(/^\s+cache 30$/m);
    expect(c).toMatch(/^\s+ready :8181$/m);
    expect(c).toMatch(/^\s+health :8080$/m);
    // No `loop`: its probe query would go upstream, off this host (see dns.ts).
    expect(c).not.toMatch(/^\s+loop$/m);
    const cm = byKind("ConfigMap").body as { data: { Corefile: string } };
    expect(cm.data.Corefile).toBe(c);
  });

  it("runs a pinned, never-pulled image with readiness on /ready:8181", () => {
    const ctr = deploy.spec.template.spec.containers[0];
    expect(ctr.image).toBe(COREDNS_IMAGE);
    expect(COREDNS_IMAGE).toBe(`mlflow-k8s/coredns:${COREDNS_VERSION.slice(1)}`);
    expect(() => assertPinnedTag(ctr.image)).not.toThrow();
    expect(ctr.imagePullPolicy).toBe("Never");
    expect(ctr.readinessProbe.httpGet).toMatchObject({ path: "/ready", port: 8181 });
    expect(ctr.securityContext.capabilities).toEqual({ add: ["NET_BIND_SERVICE"], drop: ["ALL"] });
    expect(deploy.spec.replicas).toBe(1);
    expect(deploy.spec.template.spec.dnsPolicy).toBe("Default");
    expect(deploy.spec.template.spec.serviceAccountName).toBe("coredns");
    expect(deploy.spec.selector.matchLabels).toEqual(svc.spec.selector);
    expect(deploy.spec.template.metadata.labels).toMatchObject(svc.spec.selector);
  });

  it("lets CoreDNS list and watch what the kubernetes plugin reads, and nothing more", () => {
    const role = byKind("ClusterRole").body as { rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> };
    const granted = role.rules.flatMap((r) => r.resources.map((res) => `${r.apiGroups[0] || "core"}/${res}`)).sort();
    expect(granted).toEqual(["core/endpoints", "core/namespaces", "core/pods", "core/services", "discovery.k8s.io/endpointslices"]);
    for (const r of role.rules) expect(r.verbs).toEqual(["list", "watch"]);
    const binding = byKind("ClusterRoleBinding").body as { subjects: unknown[]; roleRef: { name: string } };
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "coredns", namespace: "kube-system" }]);
    expect(binding.roleRef.name).toBe("system:coredns");
  });

  it("names each object's REST path after its kind, namespace and name (for server-side apply)", () => {
    for (const o of objects) {
      const m = o.body.metadata as { name: string; namespace?: string };
      expect(o.path.endsWith(`/${m.name}`)).toBe(true);
      if (m.namespace) expect(o.path).toContain(`/namespaces/${m.namespace}/`);
    }
    expect(objects.map((o) => o.body.kind)).toEqual(["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Service"]);
  });
});
