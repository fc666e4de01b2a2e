import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, lstatSync } from "node:fs";
import { basename, join } from "node:path";
import { imageDir, repoRoot } from "../src/index.ts";

/** The MLflow version pinned in images/mlflow/requirements.in. */
export function pinnedMlflowVersion(): string {
  const m = /^mlflow==(\S+)/m.exec(readFileSync(join(imageDir, "requirements.in"), "utf8"));
  if (!m?.[1]) throw new Error("no mlflow pin in requirements.in");
  return m[1];
}

/** Copies service logs to <repo>/artifacts/testbed/<suite>/ (gitignored) for CI to keep. */
export function keepLogs(suite: string, files: (string | undefined)[]): void {
  const dir = join(repoRoot, "artifacts/testbed", suite);
  mkdirSync(dir, { recursive: true });
  for (const f of files) if (f && existsSync(f)) copyFileSync(f, join(dir, basename(f)));
}

/** Command lines (argv joined by spaces) of every process in a process group, from /proc. */
export function commandLinesInGroup(pgid: number): string[] {
  const out: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid pgrp ...: comm may contain spaces, so split after the last ")"
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue;
      out.push(readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim());
    } catch {
      // the process went away meanwhile
    }
  }
  return out;
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
