// Fast unit tests of scripts/install-python.sh's refusals (no venv is made: they stop before).
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { testbedRoot } from "../src/paths.ts";

const dir = mkdtempSync(join(tmpdir(), "install-python-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs install-python.sh with MLFLOW_PYTHON set and a private, empty cache. */
function install(python: string) {
  const cache = mkdtempSync(join(dir, "cache-"));
  const r = spawnSync("bash", [join(testbedRoot, "scripts/install-python.sh")], { encoding: "utf8", env: { ...process.env, MLFLOW_PYTHON: python, MLFLOW_K8S_CACHE: cache } });
  return { status: r.status, stderr: r.stderr, cacheEntries: readdirSync(cache) };
}

describe("install-python.sh", () => {
  it("refuses a Python outside the supported ones, naming them and MLFLOW_PYTHON, and writes nothing", () => {
    // A fake interpreter: only the refusal is under test, so it only has to report a version.
    const fakePython = join(dir, "fake-python3.10");
    writeFileSync(fakePython, "#!/bin/sh\necho 3.10\n");
    chmodSync(fakePython, 0o755);
    const r = install(fakePython);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`MLFLOW_PYTHON=${fakePython} is Python 3.10; the requirement files are checked for Python 3.11 3.12 3.13: set MLFLOW_PYTHON to one of them`);
    expect(r.cacheEntries).toEqual([]);
  });

  it("says which interpreter it cannot run", () => {
    const r = install(join(dir, "no-such-python"));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("cannot run MLFLOW_PYTHON=");
    expect(r.cacheEntries).toEqual([]);
  });
});
