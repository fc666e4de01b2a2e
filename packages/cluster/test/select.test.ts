import { describe, expect, it } from "vitest";
import { selectProvider, type ProviderOptions } from "../src/select.ts";
import type { ClusterProvider, ProviderName } from "../src/provider.ts";

/** A fake provider factory: each provider is available or not as told, and records being asked. */
function fake(available: Partial<Record<ProviderName, boolean>>) {
  const asked: ProviderName[] = [];
  const options: ProviderOptions[] = [];
  const factory = (name: ProviderName, opts: ProviderOptions): ClusterProvider => ({
    name,
    available: async () => {
      asked.push(name);
      options.push(opts);
      return available[name] ? { ok: true } : { ok: false, reason: `${name} missing` };
    },
    toolVersions: async () => ({}),
    up: async () => ({ kubeconfig: "", context: "" }),
    loadImage: async (ref: string) => ref,
    down: async () => {},
  });
  return { factory, asked, options };
}

describe("selectProvider", () => {
  it("uses the explicitly named provider even when another comes first", async () => {
    const { factory } = fake({ kind: true, minikube: true });
    expect((await selectProvider("minikube", factory)).name).toBe("minikube");
  });

  it("fails with the reason when the named provider is not available", async () => {
    const { factory } = fake({ kind: true });
    await expect(selectProvider("minikube", factory)).rejects.toThrow(/minikube.*not available: minikube missing/);
  });

  it("rejects unknown names and lists the valid ones", async () => {
    await expect(selectProvider("k3d", fake({}).factory)).rejects.toThrow(/kind, minikube, existing$/);
  });

  it("prefers kind, then minikube", async () => {
    expect((await selectProvider(undefined, fake({ kind: true, minikube: true, existing: true }).factory)).name).toBe("kind");
    const f = fake({ minikube: true, existing: true });
    expect((await selectProvider(undefined, f.factory)).name).toBe("minikube");
    expect(f.asked).toEqual(["kind", "minikube"]);
  });

  it("never auto-selects existing, even when it is the only provider available (it may be production)", async () => {
    const f = fake({ existing: true });
    await expect(selectProvider(undefined, f.factory)).rejects.toThrow(/no cluster provider is available \(existing is only used when named, with --context\)/);
    expect(f.asked).not.toContain("existing");
  });

  it("uses existing only when named with an explicit context, and hands the context over", async () => {
    const f = fake({ existing: true });
    await expect(selectProvider("existing", f.factory)).rejects.toThrow(/"existing" needs an explicit kubeconfig context \(--context <name>\)/);
    expect(f.asked).toEqual([]);
    expect((await selectProvider("existing", f.factory, { context: "kind-mlflow" })).name).toBe("existing");
    expect(f.options).toEqual([{ context: "kind-mlflow" }]);
  });

  it("lists every provider's reason when none is available", async () => {
    await expect(selectProvider(undefined, fake({}).factory)).rejects.toThrow(/kind: kind missing[\s\S]*minikube: minikube missing/);
  });
});
