/**
 * All-or-nothing file output: every file is written to a temporary sibling first
 * and only renamed into place once all of them were written. If a later rename
 * fails, the files already renamed are put back as they were (what --force replaced
 * is restored, a new file is removed), so a failure never leaves a values file
 * without its Secret, a Secret without its values, or a half-written file.
 */
import { COPYFILE_EXCL } from "node:constants";
import { copyFileSync, existsSync, linkSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ValuesError, type Problem } from "./errors.ts";

export interface OutputFile {
  path: string;
  content: string;
  /** File mode; secrets are written 0600. */
  mode?: number;
  /** The setting that chose this path, for error messages, e.g. "out". */
  field?: string;
  /** How the user set it, e.g. "-o / --out". */
  hint?: string;
}

/** File-system steps writeAllOrNothing uses; a unit test swaps `rename` for a fake to fail one on purpose. */
export interface FileOps {
  rename: (from: string, to: string) => void;
}
const realOps: FileOps = { rename: renameSync };

export function writeAllOrNothing(files: OutputFile[], opts: { force?: boolean; ops?: FileOps } = {}): void {
  checkOutputs(files, Boolean(opts.force));
  const ops = opts.ops ?? realOps;
  const sibling = (file: OutputFile, suffix: string) => join(dirname(file.path), `.${basename(file.path)}.${process.pid}.${suffix}`);
  const temps = files.map((f) => sibling(f, "tmp"));
  const backups = files.map((f) => sibling(f, "bak"));
  const placed: number[] = [];
  let current: OutputFile | undefined;
  try {
    files.forEach((file, i) => {
      current = file;
      writeFileSync(temps[i] as string, file.content, { mode: file.mode ?? 0o644, flag: "wx" });
    });
    files.forEach((file, i) => {
      current = file;
      // A second name for what --force replaces, so it can be put back if a later rename fails.
      if (existsSync(file.path)) keepCopy(file.path, backups[i] as string);
      ops.rename(temps[i] as string, file.path);
      placed.push(i);
    });
  } catch (error) {
    for (const i of placed.reverse()) {
      const file = files[i] as OutputFile;
      if (existsSync(backups[i] as string)) renameSync(backups[i] as string, file.path);
      else rmSync(file.path, { force: true });
    }
    throw asProblem(error, current);
  } finally {
    for (const path of [...temps, ...backups]) rmSync(path, { force: true });
  }
}

function keepCopy(path: string, backup: string): void {
  try {
    linkSync(path, backup);
  } catch {
    copyFileSync(path, backup, COPYFILE_EXCL);
  }
}

/** Bad output paths are bad input: name the setting and the path, exit 2. */
export function checkOutputs(files: Omit<OutputFile, "content">[], force: boolean): void {
  const problems: Problem[] = [];
  const seen = new Map<string, Omit<OutputFile, "content">>();
  for (const file of files) {
    const where = { field: file.field ?? "output", ...(file.hint ? { hint: file.hint } : {}), got: JSON.stringify(file.path) };
    const full = resolve(file.path);
    const other = seen.get(full);
    if (other) problems.push({ ...where, message: `is the same file as ${other.field ?? "another output"}; give each output its own path` });
    seen.set(full, file);
    const dir = dirname(full);
    if (!isDirectory(dir)) problems.push({ ...where, message: `cannot be written: directory ${JSON.stringify(dirname(file.path))} does not exist; create it first` });
    else if (!force && existsSync(file.path)) problems.push({ ...where, message: "already exists; pass --force to replace it, or choose another path" });
  }
  if (problems.length) throw new ValuesError(problems);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function asProblem(error: unknown, file: OutputFile | undefined): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (!code || !file) return error;
  return new ValuesError([
    { field: file.field ?? "output", ...(file.hint ? { hint: file.hint } : {}), got: JSON.stringify(file.path), message: `cannot be written (${code}); no output file was changed` },
  ]);
}
