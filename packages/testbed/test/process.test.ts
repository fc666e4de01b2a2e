// Fast unit tests (plain `vitest run`): process-group handling and the chart contract.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { chartArgs, chartEnv, freePort, startProcess, waitFor } from "../src/index.ts";
import { commandLinesInGroup } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "testbed-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("ManagedProcess", () => {
  it("stops the whole process group, grandchildren included", async () => {
    const p = startProcess("tree", "/bin/sh", ["-c", "echo started; sleep 300 & sleep 300 & wait"], {
      env: { PATH: "/usr/bin:/bin" },
      logFile: join(dir, "tree.log"),
    });
    await waitFor(async () => p.log().includes("started") && commandLinesInGroup(p.pid).length === 3, { timeoutMs: 5_000, what: "3 processes in the group" });
    await p.stop({ graceMs: 2_000 });
    expect(commandLinesInGroup(p.pid)).toEqual([]);
    expect(p.running).toBe(false);
    expect(p.log()).toContain("started");
  });

  it("SIGKILLs a group that ignores SIGTERM after the grace period", async () => {
    const p = startProcess("stubborn", "/bin/sh", ["-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"], {
      env: { PATH: "/usr/bin:/bin" },
      logFile: join(dir, "stubborn.log"),
    });
    await waitFor(async () => p.log().includes("ready"), { timeoutMs: 5_000, what: "ready" });
    const t = Date.now();
    await p.stop({ graceMs: 300 });
    expect(Date.now() - t).toBeLessThan(5_000);
    expect(commandLinesInGroup(p.pid)).toEqual([]);
  });
});

describe("freePort", () => {
  it("returns a bindable port on loopback", async () => {
    const port = await freePort("127.0.0.1");
    expect(port).toBeGreaterThan(1024);
    expect(port).toBeLessThan(65536);
  });
});

describe("the chart's contract", () => {
  it("passes the flags the chart passes, with the password nowhere in argv", () => {
    expect(chartArgs({ host: "0.0.0.0", port: 5000, artifactsDestination: "gs://b/p", workers: 2 })).toEqual([
      "server", "--host", "0.0.0.0", "--port", "5000", "--serve-artifacts", "--artifacts-destination", "gs://b/p", "--workers", "2",
    ]);
    expect(chartArgs({ host: "0.0.0.0", port: 5000, artifactsDestination: "gs://b/p", serveArtifacts: false })).toContain("--default-artifact-root");
  });

  it("sets DB_* and HOME like the chart, with telemetry off", () => {
    const env = chartEnv(
      { db: { host: "10.0.0.5", port: 5432, database: "mlflow", user: "u", password: "s3cret" }, storageEmulatorHost: "http://127.0.0.1:1", allowedHosts: "a:*" },
      "/venv/bin/python",
      "/tmp/home",
    );
    expect(env).toMatchObject({
      DB_HOST: "10.0.0.5", DB_PORT: "5432", DB_NAME: "mlflow", DB_USER: "u", DB_PASSWORD: "s3cret",
      HOME: "/tmp/home", STORAGE_EMULATOR_HOST: "http://127.0.0.1:1", MLFLOW_SERVER_ALLOWED_HOSTS: "a:*",
      MLFLOW_DISABLE_TELEMETRY: "true",
    });
    expect(env["PATH"]?.startsWith("/venv/bin:")).toBe(true);
  });
});
