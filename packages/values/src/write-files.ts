/**
 * All-or-nothing file output: every file is written to a temporary sibling first
 * and only renamed into place once all of them were written, so a failure never
 * leaves a values file without its Secret (or a half-written file).
 */
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ValuesError } from "./errors.ts";

export interface OutputFile {
  path: string;
  content: string;
  /** File mode; secrets are written 0600. */
  mode?: number;
}

export function writeAllOrNothing(files: OutputFile[], opts: { force?: boolean } = {}): void {
  if (!opts.force) {
    const existing = files.filter((f) => existsSync(f.path));
    if (existing.length) {
      throw new ValuesError(
        existing.map((f) => ({ field: "output", got: JSON.stringify(f.path), message: "already exists; pass --force to replace it, or choose another path" })),
      );
    }
  }
  const temps: string[] = [];
  try {
    for (const file of files) {
      const temp = join(dirname(file.path), `.${basename(file.path)}.${process.pid}.tmp`);
      temps.push(temp);
      writeFileSync(temp, file.content, { mode: file.mode ?? 0o644, flag: "wx" });
    }
    files.forEach((file, i) => renameSync(temps[i] as string, file.path));
  } catch (error) {
    for (const temp of temps) rmSync(temp, { force: true });
    throw error;
  }
}
