/**
 * Background processes the project starts (its own dockerd): each gets a log file and a
 * pidfile under its state dir, and is stopped only by that recorded PID (after checking the
 * PID still runs the same executable, so a reused PID is never signalled).
 */
import { spawn } from "node:child_process";
import { openSync, closeSync, readFileSync, writeFileSync, rmSync, existsSync, readlinkSync} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface Managed {
  name: string;
  bin: string;
  args: string[];
  env?: Record<string, string>;
}

export function pidFile(runDir: string, name: string): string {
  return join(runDir, `${name}.pid`);
}

/** The executable behind a PID, or undefined when no such process runs. */
export function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
  } catch {
    return undefined;
  }
}

/** PID from the pidfile if that process still runs `bin`; undefined otherwise. */
export function runningPid(runDir: string, name: string, bin: string): number | undefined {
  const f = pidFile(runDir, name);
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, "utf8").trim().split(/\s+/)[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const exe = exeOf(pid);
  if (exe === undefined) return undefined;
  // Zombies have no exe; a reused PID runs something else.
  return exe === bin || exe.endsWith("/" + bin.split("/").pop()) ? pid : undefined;
}

/** Starts a detached process logging to logs/<name>.log; returns its PID. */
export function startDetached(m: Managed, runDir: string, logDir: string): number {
  const log = openSync(join(logDir, `${m.name}.log`), "a");
  try {
    const child = spawn(m.bin, m.args, {
      detached: true,
      stdio: ["ignore", log, log],
      env: { ...process.env, ...m.env },
    });
    if (child.pid === undefined) throw new Error(`could not start ${m.bin}`);
    child.unref();
    writeFileSync(pidFile(runDir, m.name), `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Returns true when the process is gone. */
export async function stopPid(pid: number, graceMs = 10_000): Promise<boolean> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return true;
  }
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await sleep(100);
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return true;
  }
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  return !alive(pid);
}

/** Stops the process recorded for `name` (if it is still ours) and removes its pidfile. */
export async function stopManaged(runDir: string, name: string, bin: string, graceMs?: number): Promise<number | undefined> {
  const pid = runningPid(runDir, name, bin);
  if (pid !== undefined) await stopPid(pid, graceMs);
  rmSync(pidFile(runDir, name), { force: true });
  return pid;
}
