/**
 * How the e2e reaches MLflow when the NodePort does not answer: the API server's service
 * proxy through a real `kubectl proxy` on loopback. The cluster is a FAKE here (a Kube whose
 * Node and Service point at a closed loopback port, a kubeconfig naming an API server that
 * nothing serves): this is the error path of discover; the e2e proves the proxy on kind.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chooseAccess, releaseUrl } from "../src/access.ts";
import type { Kube } from "../src/kube.ts";
import { servicesPlacement } from "../src/phases/dependencies.ts";

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

function fakeKube(nodePort: number): Kube {
  const service = { metadata: { name: "mlflow-e2e-svc", namespace: "mlflow-e2e" }, spec: { type: "NodePort", ports: [{ name: "http", port: 5000, nodePort }] } };
  const node = { metadata: { name: "n" }, status: { conditions: [{ type: "Ready", status: "True" }], addresses: [{ type: "InternalIP", address: "127.0.0.1" }] } };
  return { core: { listNode: async () => ({ items: [node] }), listNamespacedService: async () => ({ items: [service] }) } } as unknown as Kube;
}

function kubeconfig(): { kubeconfig: string; context: string } {
  const file = join(mkdtempSync(join(tmpdir(), "access-test-")), "kubeconfig");
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: not-a-secret}}]
contexts: [{name: fake, context: {cluster: c, user: u}}]
current-context: fake
`,
  );
  return { kubeconfig: file, context: "fake" };
}

describe("chooseAccess", () => {
  const target = { namespace: "mlflow-e2e", release: "mlflow" };

  it("auto falls back to the API server's service proxy when the NodePort does not answer, and says why", async () => {
    const kube = fakeKube(await closedPort());
    const lines: string[] = [];
    const access = await chooseAccess(kube, kubeconfig(), "auto", target, (l) => lines.push(l));
    try {
      expect(access.mode).toBe("proxy");
      expect(lines.join("\n")).toMatch(/the NodePort 127\.0\.0\.1:\d+ is not reachable from this machine .*service proxy instead/);
      expect(await releaseUrl(kube, kubeconfig(), access, target)).toBe(`http://127.0.0.1:${access.proxy?.port}/api/v1/namespaces/mlflow-e2e/services/mlflow-e2e-svc:http/proxy`);
    } finally {
      access.proxy?.stop();
    }
  });

  it("an explicit nodeport fails with the reason instead of falling back", async () => {
    const kube = fakeKube(await closedPort());
    await expect(chooseAccess(kube, kubeconfig(), "nodeport", target, () => undefined)).rejects.toThrow(/is not reachable from this machine/);
  });
});

describe("servicesPlacement", () => {
  it("auto runs PostgreSQL and the emulator on this machine only where the provider names an address pods reach", () => {
    expect(servicesPlacement("auto", "172.18.0.1")).toBe("host");
    expect(servicesPlacement("auto", undefined)).toBe("cluster");
    expect(servicesPlacement("cluster", "172.18.0.1")).toBe("cluster");
    expect(servicesPlacement("host", undefined)).toBe("host");
  });
});
