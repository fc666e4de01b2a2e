/** The GitHub Actions workflows pass actionlint (installed by scripts/setup.sh from the Go module proxy). */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const WORKFLOWS = join(ROOT, ".github/workflows");
const cached = join(process.env.MLFLOW_K8S_CACHE ?? join(homedir(), ".cache/mlflow-k8s"), "go/bin/actionlint");
const ACTIONLINT = process.env.ACTIONLINT ?? (existsSync(cached) ? cached : "actionlint");

describe("GitHub Actions workflows", () => {
  const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yml"));

  it("ci.yml and e2e.yml exist", () => {
    expect(files.sort()).toEqual(["ci.yml", "e2e.yml"]);
  });

  it.each(files)("%s passes actionlint", (file) => {
    const r = spawnSync(ACTIONLINT, ["-no-color", join(WORKFLOWS, file)], { encoding: "utf8" });
    expect(r.error, `actionlint not runnable (${ACTIONLINT}): run scripts/setup.sh`).toBeUndefined();
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("actionlint catches a broken workflow (so the checks above can fail)", () => {
    const broken = "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n";
    const r = spawnSync(ACTIONLINT, ["-no-color", "-"], { input: broken, encoding: "utf8" });
    expect(r.status).not.toBe(0);
  });
});
