/**
 * The GitHub Actions workflows pass actionlint (installed by scripts/setup.sh from the Go module
 * proxy) and run what the README tells users to run, the way users run it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const WORKFLOWS = join(ROOT, ".github/workflows");
const cached = join(process.env.MLFLOW_K8S_CACHE ?? join(homedir(), ".cache/mlflow-k8s"), "go/bin/actionlint");
const ACTIONLINT = process.env.ACTIONLINT ?? (existsSync(cached) ? cached : "actionlint");

type Step = { name?: string; uses?: string; run?: string; if?: string; with?: Record<string, string> };
type Workflow = { jobs: Record<string, { steps: Step[] }> };
const steps = (file: string): Step[] => Object.values((YAML.parse(readFileSync(join(WORKFLOWS, file), "utf8")) as Workflow).jobs).flatMap((j) => j.steps);
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

describe("GitHub Actions workflows", () => {
  const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yml"));

  it("ci.yml and e2e.yml exist", () => {
    expect(files).toEqual(expect.arrayContaining(["ci.yml", "e2e.yml"]));
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

  it.each([
    ["ci.yml", ["fast", "integration"]],
    ["e2e.yml", ["e2e"]],
  ])("%s runs the README's ./dev test for tiers %j, which scripts/test-all.ts has", (file, tiers) => {
    expect(read("README.md")).toContain("./dev test");
    const known = [...read("scripts/test-all.ts").matchAll(/^ {4}name: "(\w+)",$/gm)].map((m) => m[1]);
    const runs = steps(file).flatMap((s) => [...(s.run ?? "").matchAll(/^\.\/dev test(?: --only (\S+))?$/gm)].map((m) => m[1]?.split(",") ?? known));
    expect(runs).toEqual([tiers]);
    for (const tier of tiers) expect(known).toContain(tier);
  });

  it.each(["ci.yml", "e2e.yml"])("%s sets up a Python the hashed requirement files support", (file) => {
    const supported = /^SUPPORTED_PYTHONS=\(([^)]*)\)/m.exec(read("images/mlflow/requirements-lib.sh"))?.[1]?.split(" ");
    const python = steps(file).find((s) => s.uses?.startsWith("actions/setup-python@"));
    expect(supported).toContain(python?.with?.["python-version"]);
  });

  it.each(["ci.yml", "e2e.yml"])("%s caches the pnpm store and the setup cache", (file) => {
    const paths = steps(file).filter((s) => s.uses?.startsWith("actions/cache@")).map((s) => s.with?.path);
    expect(paths).toEqual(expect.arrayContaining(["${{ env.PNPM_STORE }}", "~/.cache/mlflow-k8s"]));
  });

  it("e2e.yml saves cluster logs and uploads diagnostics on failure, timeout and cancel", () => {
    const onTrouble = steps("e2e.yml").filter((s) => /failure\(\)/.test(s.if ?? "") && /cancelled\(\)/.test(s.if ?? ""));
    const runs = onTrouble.map((s) => s.run ?? "").join("\n");
    expect(runs).toContain("kind export logs");
    expect(runs).toContain("minikube logs");
    expect(onTrouble.some((s) => s.uses?.startsWith("actions/upload-artifact@"))).toBe(true);
  });
});
