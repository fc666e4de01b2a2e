#!/usr/bin/env node
/**
 * Every change to charts/mlflow bumps its `version` (what `ct lint --check-version-increment`
 * checks): a chart published twice under one version would mean two different charts for one
 * `helm install --version`. Compares the chart in the working tree with the one at a base:
 * `--base <ref>` (CI on a pull request: the target branch; the merge base with it is used),
 * else the last `v*` tag (a release), else the merge base with main.
 *
 * Usage: node packages/chart-tests/src/version-bump.ts [--base <ref>] [--repo <dir>]
 * Exit 0: unchanged or bumped; 1: changed without a bump; 2: no base to compare with.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import semver from "semver";
import YAML from "yaml";

export const CHART_PATH = "charts/mlflow";

export interface BumpResult {
  status: "unchanged" | "bumped" | "not-bumped" | "no-base";
  message: string;
}

function git(repo: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync("git", ["-C", repo, ...args], { encoding: "utf8" });
  return { ok: r.status === 0, out: (r.stdout ?? "").trim() };
}

/** The commit to compare with: the merge base with `base`, else the last v* tag, else the merge base with main. */
export function resolveBase(repo: string, base?: string): { commit: string; label: string } | undefined {
  const mergeBase = (ref: string) => {
    const r = git(repo, ["merge-base", "HEAD", ref]);
    return r.ok && r.out ? { commit: r.out, label: `the merge base with ${ref}` } : undefined;
  };
  if (base) return mergeBase(base);
  const tag = git(repo, ["describe", "--tags", "--abbrev=0", "--match", "v*", "HEAD"]);
  if (tag.ok && tag.out) return { commit: git(repo, ["rev-parse", `${tag.out}^{commit}`]).out, label: `the last release tag ${tag.out}` };
  return mergeBase("origin/main") ?? mergeBase("main");
}

function chartVersion(text: string, where: string): string {
  const version = String((YAML.parse(text) as { version?: unknown }).version ?? "");
  if (!semver.valid(version)) throw new Error(`${where}: version "${version}" is not a semantic version (MAJOR.MINOR.PATCH)`);
  return version;
}

export function checkVersionBump(repo: string, base?: string): BumpResult {
  const at = resolveBase(repo, base);
  if (!at) {
    return {
      status: "no-base",
      message: `cannot check the chart version: ${base ? `no merge base with ${base}` : "no v* tag and no main branch"} in ${repo} (a shallow clone? fetch with fetch-depth: 0, or pass --base <ref>)`,
    };
  }
  // Working tree against the base: uncommitted edits count as changes too.
  const diff = spawnSync("git", ["-C", repo, "diff", "--quiet", at.commit, "--", CHART_PATH]);
  const untracked = git(repo, ["ls-files", "--others", "--exclude-standard", "--", CHART_PATH]).out;
  if (diff.status === 0 && !untracked) return { status: "unchanged", message: `${CHART_PATH} is unchanged since ${at.label} (${at.commit.slice(0, 7)})` };
  const current = chartVersion(readFileSync(join(repo, CHART_PATH, "Chart.yaml"), "utf8"), `${CHART_PATH}/Chart.yaml`);
  const before = git(repo, ["show", `${at.commit}:${CHART_PATH}/Chart.yaml`]);
  if (!before.ok) return { status: "bumped", message: `${CHART_PATH} is new since ${at.label}: version ${current}` };
  const previous = chartVersion(before.out, `${CHART_PATH}/Chart.yaml at ${at.commit.slice(0, 7)}`);
  if (semver.gt(current, previous)) return { status: "bumped", message: `${CHART_PATH} changed since ${at.label} (${at.commit.slice(0, 7)}) and its version went ${previous} -> ${current}` };
  return {
    status: "not-bumped",
    message: `${CHART_PATH} changed since ${at.label} (${at.commit.slice(0, 7)}) but its version is still ${current} (was ${previous}): raise \`version\` in ${CHART_PATH}/Chart.yaml above ${previous} (patch for fixes, minor for features)`,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { base: { type: "string" }, repo: { type: "string", default: process.cwd() } } });
  const r = checkVersionBump(values.repo, values.base);
  (r.status === "not-bumped" || r.status === "no-base" ? process.stderr : process.stdout).write(`chart version: ${r.message}\n`);
  process.exitCode = r.status === "not-bumped" ? 1 : r.status === "no-base" ? 2 : 0;
}
