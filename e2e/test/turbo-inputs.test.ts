/**
 * turbo.json reruns a package's tests when what they depend on changes: its workspace
 * dependencies' sources (the "transit" tasks) and the shared config (globalDependencies).
 * Shown on a copy of the repository with `turbo run --dry=json`: a task's hash must change.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const TURBO = join(ROOT, "node_modules/.bin/turbo");
const copy = mkdtempSync(join(tmpdir(), "turbo-inputs-"));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

// The working tree's tracked and new files (uncommitted edits included), without node_modules.
const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
for (const f of files) {
  mkdirSync(dirname(join(copy, f)), { recursive: true });
  cpSync(join(ROOT, f), join(copy, f));
}
symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));

/** Hash of each task turbo would run for chart-tests (a package that depends on packages/values). */
function hashes(): Record<string, string> {
  const out = execFileSync(TURBO, ["run", "test", "typecheck", "--dry=json", "--filter=@mlflow-k8s/chart-tests"], { cwd: copy, encoding: "utf8", env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" } });
  const tasks = (JSON.parse(out) as { tasks: { taskId: string; hash: string }[] }).tasks;
  return Object.fromEntries(tasks.filter((t) => /#(test|typecheck)$/.test(t.taskId)).map((t) => [t.taskId, t.hash]));
}

describe("turbo task inputs", () => {
  it.each([
    ["a source file of its workspace dependency packages/values", "packages/values/src/validators.ts", ["test", "typecheck"]],
    ["the shared tsconfig.base.json", "tsconfig.base.json", ["test", "typecheck"]],
    ["the shared eslint.config.js", "eslint.config.js", ["test", "typecheck"]],
    ["the chart it renders (its test only)", "charts/mlflow/templates/service.yaml", ["test"]],
  ])("chart-tests reruns after a change to %s", (_name, file, tasks) => {
    const before = hashes();
    expect(Object.keys(before).sort()).toEqual(["@mlflow-k8s/chart-tests#test", "@mlflow-k8s/chart-tests#typecheck"]);
    appendFileSync(join(copy, file), "\n"); // turbo hashes bytes: a blank line is a change
    const after = hashes();
    for (const task of tasks) expect(after[`@mlflow-k8s/chart-tests#${task}`], `${task} after changing ${file}`).not.toBe(before[`@mlflow-k8s/chart-tests#${task}`]);
  });

  it("keeps them cached after a change to a package they do not depend on (bench)", () => {
    const before = hashes();
    appendFileSync(join(copy, "bench/src/main.ts"), "\n");
    expect(hashes()).toEqual(before);
  });
});
