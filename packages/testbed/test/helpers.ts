import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { imageDir, processGroupMembers, repoRoot } from "../src/index.ts";

/** The MLflow version pinned in images/mlflow/requirements.in (or another .in file there). */
export function pinnedMlflowVersion(file = "requirements.in"): string {
  const m = /^mlflow(?:\[[^\]]*\])?==(\S+)/m.exec(readFileSync(join(imageDir, file), "utf8"));
  if (!m?.[1]) throw new Error(`no mlflow pin in ${file}`);
  return m[1];
}

/** The previous MLflow the upgrade test starts from (images/mlflow/requirements-previous.in). */
export function previousMlflowVersion(): string {
  return pinnedMlflowVersion("requirements-previous.in");
}

/** Copies service logs to <repo>/artifacts/testbed/<suite>/ (gitignored) for CI to keep. */
export function keepLogs(suite: string, files: (string | undefined)[]): void {
  const dir = join(repoRoot, "artifacts/testbed", suite);
  mkdirSync(dir, { recursive: true });
  for (const f of files) if (f && existsSync(f)) copyFileSync(f, join(dir, basename(f)));
}

/** Command lines of the live processes in a process group. */
export function commandLinesInGroup(pgid: number): string[] {
  return processGroupMembers(pgid).map((m) => m.cmdline);
}

/** Files (not dirs) under `dir` modified after `sinceMs`. */
export function filesModifiedSince(dir: string, sinceMs: number): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.mtimeMs > sinceMs) found.push(p);
    }
  };
  walk(dir);
  return found;
}
