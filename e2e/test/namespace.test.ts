/**
 * The e2e deletes only namespaces it created and labelled, and never adopts anyone
 * else's. The Kubernetes API is a fake here (a map of namespaces) because the cases
 * that matter, someone else's namespace on a real cluster, are the ones to never
 * touch for real; the real path runs in every e2e teardown.
 */
import type { V1Namespace } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { deleteOwnNamespace, E2E_NAMESPACE_LABEL, ensureNamespace, type Kube } from "../src/kube.ts";

/** A fake CoreV1Api holding namespaces by name; records deletes and creates. */
function fakeKube(namespaces: Record<string, Record<string, string>>, readError?: { code: number }) {
  const deleted: string[] = [];
  const created: V1Namespace[] = [];
  const core = {
    readNamespace: async ({ name }: { name: string }): Promise<V1Namespace> => {
      if (readError) throw Object.assign(new Error(`HTTP ${readError.code}`), readError);
      const labels = namespaces[name];
      if (!labels) throw Object.assign(new Error("not found"), { code: 404 });
      return { metadata: { name, labels } };
    },
    deleteNamespace: async ({ name }: { name: string }) => void deleted.push(name),
    createNamespace: async ({ body }: { body: V1Namespace }) => void created.push(body),
  };
  return { kube: { core } as unknown as Kube, deleted, created };
}

const OURS = { [E2E_NAMESPACE_LABEL.key]: E2E_NAMESPACE_LABEL.value };

describe("namespace ownership", () => {
  it("deletes a namespace the e2e labelled", async () => {
    const f = fakeKube({ "mlflow-e2e": OURS });
    expect(await deleteOwnNamespace(f.kube, "mlflow-e2e")).toBe("deleted");
    expect(f.deleted).toEqual(["mlflow-e2e"]);
  });

  it("keeps a namespace without the label (someone else's, e.g. on an existing cluster)", async () => {
    const f = fakeKube({ ml: { "app.kubernetes.io/managed-by": "Helm" } });
    expect(await deleteOwnNamespace(f.kube, "ml")).toBe("not ours");
    expect(f.deleted).toEqual([]);
  });

  it("treats a namespace already gone as nothing to do", async () => {
    expect(await deleteOwnNamespace(fakeKube({}).kube, "gone")).toBe("absent");
  });

  it("creates a missing namespace with the label, plus the labels asked for", async () => {
    const f = fakeKube({});
    await ensureNamespace(f.kube, "mlflow-e2e", { "pod-security.kubernetes.io/enforce": "restricted" });
    expect(f.created).toEqual([{ metadata: { name: "mlflow-e2e", labels: { ...OURS, "pod-security.kubernetes.io/enforce": "restricted" } } }]);
  });

  it("reuses its own namespace from an earlier run, and refuses anyone else's", async () => {
    const f = fakeKube({ "mlflow-e2e": OURS, prod: {} });
    await ensureNamespace(f.kube, "mlflow-e2e");
    expect(f.created).toEqual([]);
    await expect(ensureNamespace(f.kube, "prod")).rejects.toThrow(
      "namespace prod exists and was not created by the e2e (no label app.kubernetes.io/managed-by=mlflow-k8s-e2e): pass another --namespace",
    );
  });

  it("does not take a refused read (RBAC) for a missing namespace", async () => {
    const f = fakeKube({}, { code: 403 });
    await expect(ensureNamespace(f.kube, "mlflow-e2e")).rejects.toThrow("HTTP 403");
    await expect(deleteOwnNamespace(f.kube, "mlflow-e2e")).rejects.toThrow("HTTP 403");
    expect(f.created).toEqual([]);
    expect(f.deleted).toEqual([]);
  });
});
