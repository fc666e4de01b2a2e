/**
 * Every chart change bumps the chart version (src/version-bump.ts, run by ci.yml). Shown on
 * throwaway git repositories holding a copy of the chart, then on this repository itself.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CHART_DIR } from "../src/helm.ts";
import { CHART_PATH, checkVersionBump } from "../src/version-bump.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const CLI = new URL("../src/version-bump.ts", import.meta.url).pathname;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A git repository with the chart committed on main and tagged v<version>; work continues on a branch. */
function repoWithRelease(): string {
  const dir = mkdtempSync(join(tmpdir(), "chart-bump-"));
  dirs.push(dir);
  const git = (...args: string[]) => execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid", ...args], { encoding: "utf8" });
  git("init", "-q", "-b", "main");
  cpSync(CHART_DIR, join(dir, CHART_PATH), { recursive: true });
  git("add", ".");
  git("commit", "-qm", "chart");
  git("tag", `v${version(dir)}`);
  git("checkout", "-qb", "change");
  return dir;
}

const chartYaml = (dir: string) => join(dir, CHART_PATH, "Chart.yaml");
const version = (dir: string) => /^version: (\S+)$/m.exec(readFileSync(chartYaml(dir), "utf8"))?.[1] ?? "";
const setVersion = (dir: string, v: string) => writeFileSync(chartYaml(dir), readFileSync(chartYaml(dir), "utf8").replace(/^version: \S+$/m, `version: ${v}`));
const editTemplate = (dir: string) => writeFileSync(join(dir, CHART_PATH, "templates/service.yaml"), readFileSync(join(dir, CHART_PATH, "templates/service.yaml"), "utf8") + "\n# changed\n");
const bumpPatch = (v: string) => v.replace(/(\d+)$/, (p) => String(Number(p) + 1));

describe("chart version bump check", () => {
  it("passes when the chart is unchanged since the last release tag", () => {
    const dir = repoWithRelease();
    expect(checkVersionBump(dir)).toMatchObject({ status: "unchanged" });
  });

  it("fails when a template changes and the version does not, naming the version to raise", () => {
    const dir = repoWithRelease();
    const v = version(dir);
    editTemplate(dir);
    const r = spawnSync(process.execPath, [CLI, "--repo", dir], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`changed since the last release tag v${v}`);
    expect(r.stderr).toContain(`its version is still ${v}`);
    expect(r.stderr).toContain(`raise \`version\` in ${CHART_PATH}/Chart.yaml above ${v}`);
  });

  it("fails when a new file appears in the chart without a bump (untracked files count)", () => {
    const dir = repoWithRelease();
    writeFileSync(join(dir, CHART_PATH, "templates/extra.yaml"), "# new\n");
    expect(checkVersionBump(dir)).toMatchObject({ status: "not-bumped" });
  });

  it("fails when the version goes down", () => {
    const dir = repoWithRelease();
    editTemplate(dir);
    setVersion(dir, "0.0.1");
    expect(checkVersionBump(dir)).toMatchObject({ status: "not-bumped" });
  });

  it("passes when the chart changes and the version is raised", () => {
    const dir = repoWithRelease();
    const v = version(dir);
    editTemplate(dir);
    setVersion(dir, bumpPatch(v));
    const r = checkVersionBump(dir);
    expect(r).toMatchObject({ status: "bumped" });
    expect(r.message).toContain(`${v} -> ${bumpPatch(v)}`);
  });

  it("with --base compares with the merge base of that branch (how ci.yml checks a pull request)", () => {
    const dir = repoWithRelease();
    editTemplate(dir);
    expect(checkVersionBump(dir, "main")).toMatchObject({ status: "not-bumped", message: expect.stringContaining("the merge base with main") });
  });

  it("says it cannot tell, with exit 2, when there is no base to compare with", () => {
    const dir = repoWithRelease();
    const r = spawnSync(process.execPath, [CLI, "--repo", dir, "--base", "nope"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("no merge base with nope");
  });

  it("holds for this repository's chart (against its last release tag, else the merge base with main)", (ctx) => {
    const r = checkVersionBump(ROOT);
    if (r.status === "no-base") ctx.skip(r.message);
    expect(r.status, r.message).not.toBe("not-bumped");
  });
});
