/** The existing provider reads one named context from a real kubeconfig file, never the current-context. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExistingProvider, kubeconfigWithContext } from "../src/providers/existing.ts";

// Two contexts; the current one is "prod". Both servers are closed loopback ports: nothing is reached.
const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: prod
clusters:
  - name: prod
    cluster: { server: "https://127.0.0.1:1" }
  - name: test
    cluster: { server: "https://127.0.0.1:2" }
users:
  - name: u
    user: { token: not-a-real-token }
contexts:
  - name: prod
    context: { cluster: prod, user: u }
  - name: kind-test
    context: { cluster: test, user: u }
`;

describe("existing provider", () => {
  let dir: string;
  let file: string;
  const saved = process.env.KUBECONFIG;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "existing-provider-"));
    file = join(dir, "config");
    writeFileSync(file, KUBECONFIG);
    process.env.KUBECONFIG = `${join(dir, "missing")}:${file}`;
  });

  afterAll(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it("finds the kubeconfig file that defines the context, across KUBECONFIG's list", () => {
    expect(kubeconfigWithContext("kind-test")).toBe(file);
    expect(kubeconfigWithContext("nope")).toBeUndefined();
  });

  it("up() returns the named context, not the current-context", async () => {
    expect(await new ExistingProvider({ context: "kind-test" }).up()).toEqual({ kubeconfig: file, context: "kind-test" });
  });

  it("a context that is not in the kubeconfig is unavailable, with the name in the reason", async () => {
    expect(await new ExistingProvider({ context: "gke_prod" }).available()).toEqual({ ok: false, reason: 'no kubeconfig context named "gke_prod" (kubectl config get-contexts lists them)' });
    await expect(new ExistingProvider({ context: "gke_prod" }).up()).rejects.toThrow(/no kubeconfig context named "gke_prod"/);
  });

  it("no context at all is refused, so the current-context is never used", async () => {
    expect(await new ExistingProvider({ context: "" }).available()).toMatchObject({ ok: false, reason: expect.stringMatching(/--context/) });
  });

  it("asks the API server of the named context (here a closed port) and reports it unreachable", async () => {
    const a = await new ExistingProvider({ context: "kind-test" }).available();
    expect(a.ok).toBe(false);
    expect(a.reason).toMatch(/^context kind-test \(server https:\/\/127\.0\.0\.1:2\) is not reachable/);
  });
});
