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
type Workflow = { on: Record<string, unknown>; permissions?: Record<string, string>; jobs: Record<string, { steps: Step[] }> };
const workflow = (file: string) => YAML.parse(readFileSync(join(WORKFLOWS, file), "utf8")) as Workflow;
const steps = (file: string): Step[] => Object.values((YAML.parse(readFileSync(join(WORKFLOWS, file), "utf8")) as Workflow).jobs).flatMap((j) => j.steps);
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

describe("GitHub Actions workflows", () => {
  const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yml"));

  it("ci.yml, e2e.yml and release.yml exist", () => {
    expect(files).toEqual(expect.arrayContaining(["ci.yml", "e2e.yml", "release.yml"]));
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

  it("ci.yml checks that every chart change bumps the chart version, with the history it needs", () => {
    const ci = steps("ci.yml");
    expect(ci.find((s) => s.uses?.startsWith("actions/checkout@"))?.with?.["fetch-depth"]).toBe(0);
    expect(ci.some((s) => /^pnpm check:chart-version\b/m.test(s.run ?? ""))).toBe(true);
    expect(JSON.parse(read("package.json")).scripts["check:chart-version"]).toBe("node packages/chart-tests/src/version-bump.ts");
  });
});

describe("release.yml", () => {
  const release = () => workflow("release.yml");
  const all = () => steps("release.yml");

  it("runs on version tags only, with write access to packages", () => {
    expect(Object.keys(release().on)).toEqual(["push"]);
    expect(release().on.push).toEqual({ tags: ["v*"] });
    expect(release().permissions).toEqual({ contents: "read", packages: "write" });
  });

  it("builds the image for linux/amd64 and linux/arm64 with buildx and pushes it under the name release.ts gives", () => {
    const uses = all().map((s) => s.uses?.split("@")[0]);
    expect(uses).toEqual(expect.arrayContaining(["docker/setup-qemu-action", "docker/setup-buildx-action", "docker/login-action", "docker/build-push-action"]));
    const build = all().find((s) => s.uses?.startsWith("docker/build-push-action@"));
    expect(build?.with).toMatchObject({ context: "images/mlflow", platforms: "linux/amd64,linux/arm64", push: true });
    expect(build?.with?.tags).toContain("${{ steps.meta.outputs.image }}");
    const meta = all().find((s) => s.run?.includes("e2e/src/release.ts meta"));
    expect(meta?.run).toMatch(/--tag "\$TAG" --registry "ghcr\.io\/\$\{OWNER,,\}"/);
  });

  it("pushes the chart with the command the e2e's chart phase runs against kind's registry (release.ts chart)", () => {
    const chart = all().find((s) => /node e2e\/src\/release\.ts chart "oci:\/\/ghcr\.io\/\$\{OWNER,,\}\/charts"/.test(s.run ?? ""));
    expect(chart?.run).toContain("helm registry login ghcr.io");
    expect(read("e2e/src/phases/install.ts")).toMatch(/releaseChart\(`oci:\/\/\$\{registry\}\/charts`/);
  });
});
