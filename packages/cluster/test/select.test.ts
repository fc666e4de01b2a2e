import { describe, expect, it } from "vitest";
import { selectProvider } from "../src/select.ts";
import type { ClusterProvider, ProviderName } from "../src/provider.ts";

function fake(available: Partial<Record<ProviderName, boolean>>) {
  const asked: ProviderName[] = [];
  const factory = (name: ProviderName): ClusterProvider => ({
    name,
    available: async () => {
      asked.push(name);
      return available[name] ? { ok: true } : { ok: false, reason: `${name} missing` };
    },
    toolVersions: async () => ({}),
    up: async () => ({ kubeconfig: "", context: "" }),
    loadImage: async (ref: string) => ref,
    down: async () => {},
  });
  return { factory, asked };
}

describe("selectProvider", () => {
  it("uses the explicitly named provider even when another comes first", async () => {
    const { factory } = fake({ kind: true, local: true });
    expect((await selectProvider("local", factory)).name).toBe("local");
  });

  it("fails with the reason when the named provider is not available", async () => {
    const { factory } = fake({ kind: true });
    await expect(selectProvider("minikube", factory)).rejects.toThrow(/minikube.*not available: minikube missing/);
  });

  it("rejects unknown names and lists the valid ones", async () => {
    await expect(selectProvider("k3d", fake({}).factory)).rejects.toThrow(/kind, minikube, existing, local/);
  });

  it("prefers kind, then minikube, then an existing cluster, then local", async () => {
    expect((await selectProvider(undefined, fake({ kind: true, minikube: true, existing: true, local: true }).factory)).name).toBe("kind");
    expect((await selectProvider(undefined, fake({ minikube: true, existing: true, local: true }).factory)).name).toBe("minikube");
    expect((await selectProvider(undefined, fake({ existing: true, local: true }).factory)).name).toBe("existing");
    const f = fake({ local: true });
    expect((await selectProvider(undefined, f.factory)).name).toBe("local");
    expect(f.asked).toEqual(["kind", "minikube", "existing", "local"]);
  });

  it("lists every provider's reason when none is available", async () => {
    await expect(selectProvider(undefined, fake({}).factory)).rejects.toThrow(/kind: kind missing[\s\S]*local: local missing/);
  });
});
