/** What a release publishes (src/release.ts, shared by release.yml and the e2e), and what it refuses. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { $, retry } from "zx";
import { releaseChart, releaseImage, releaseMeta, releaseProblems } from "../src/release.ts";

const meta = releaseMeta();

describe("release names", () => {
  it("publishes the image the chart pulls by default: <registry>/mlflow:<appVersion>", () => {
    expect(releaseImage("ghcr.io/mlflow-k8s")).toBe(`${meta.defaultRepository}:${meta.appVersion}`);
    expect(releaseImage("localhost:5001")).toBe(`localhost:5001/mlflow:${meta.appVersion}`);
  });

  it("accepts the tag v<chart version> and the registry of the chart's default image", () => {
    expect(releaseProblems(meta, { tag: `v${meta.chartVersion}`, registry: meta.defaultRepository.replace(/\/mlflow$/, "") })).toEqual([]);
  });

  it("refuses a tag that is not v<chart version>, naming the tag to use", () => {
    expect(releaseProblems(meta, { tag: "v9.9.9" })).toEqual([expect.stringContaining(`tag the release v${meta.chartVersion}`)]);
  });

  it("refuses a registry whose image the chart would not pull (a fork), naming where to change the default", () => {
    expect(releaseProblems(meta, { registry: "ghcr.io/someone-else" })).toEqual([
      expect.stringMatching(/pushes the image to ghcr\.io\/someone-else\/mlflow, but the chart's default image\.repository is .*packages\/values\/src\/chart-values\.ts/),
    ]);
  });

  it("refuses a chart destination that is not an oci:// URL", async () => {
    await expect(releaseChart("ghcr.io/x/charts")).rejects.toThrow(/must be an oci:\/\/ URL/);
  });
});

describe("release.ts chart against a real OCI registry on loopback", () => {
  // The CNCF distribution registry scripts/setup.sh builds (the one kind's local registry runs).
  const bin = join(process.env.MLFLOW_K8S_CACHE ?? join(homedir(), ".cache/mlflow-k8s"), "go/bin/registry");
  const dir = mkdtempSync(join(tmpdir(), "release-registry-"));
  let registry: ChildProcess | undefined;
  let port = 0;

  beforeAll(async () => {
    expect(existsSync(bin), `${bin} is missing: run scripts/setup.sh`).toBe(true);
    port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    writeFileSync(join(dir, "config.yml"), `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`);
    registry = spawn(bin, ["serve", join(dir, "config.yml")], { stdio: "ignore" });
    await retry(40, "250ms", () => fetch(`http://127.0.0.1:${port}/v2/`).then((r) => expect(r.status).toBe(200)));
  });
  afterAll(() => {
    registry?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("pushes the packaged chart, pulls it back byte for byte, and helm reads it from there", async () => {
    const lines: string[] = [];
    const r = await releaseChart(`oci://localhost:${port}/charts`, { plainHttp: true, log: (l) => lines.push(l) });
    expect(r.ref).toBe(`oci://localhost:${port}/charts/${meta.chartName}`);
    expect(r.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(lines.join("\n")).toContain(`the same archive (${r.archive})`);
    const shown = await $({ quiet: true })`helm show chart ${r.ref} --version ${r.version} --plain-http`;
    expect(shown.stdout).toContain(`version: ${meta.chartVersion}`);
  });
});
