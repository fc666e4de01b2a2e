import { spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartProcessOptions {
  /** The whole environment of the child (nothing is inherited implicitly). */
  env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here. */
  logFile: string;
  cwd?: string;
  /** Run as this user (needed for postgres when we are root). */
  uid?: number;
  gid?: number;
}

export interface StopOptions {
  /** First signal for the process group; default SIGTERM. */
  signal?: NodeJS.Signals;
  /** How long to wait before SIGKILL; default 15 s. */
  graceMs?: number;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test run dies without reaching its afterAll: kill every group we
  // started, by id. Synchronous, so it works inside 'exit'.
  process.on("exit", () => {
    for (const p of live) p.killGroupNow("SIGKILL");
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      for (const p of live) p.killGroupNow("SIGKILL");
      process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1));
    });
  }
}

export interface GroupMember {
  pid: number;
  /** /proc state letter (R, S, D, T, ...); zombies are never listed. */
  state: string;
  /** argv joined with spaces. */
  cmdline: string;
}

/**
 * Live (non-zombie) members of a process group, from /proc. Zombies are left out: once a
 * member's parent died, reaping it is up to PID 1, which in some sandboxes takes seconds.
 */
export function processGroupMembers(pgid: number): GroupMember[] {
  const members: GroupMember[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return members;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid || fields[0] === "Z" || fields[0] === "X") continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
      members.push({ pid: Number(entry), state: fields[0] ?? "?", cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return processGroupMembers(pgid).length > 0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A child started in its own process group (detached: it is the group leader, so its
 * pid is the group id). stop() signals the whole group and waits until no member is left.
 */
export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;

  constructor(name: string, command: string, args: readonly string[], options: StartProcessOptions) {
    installExitHook();
    this.name = name;
    this.logFile = options.logFile;
    const fd = openSync(options.logFile, "a");
    try {
      const child = spawn(command, args, {
        env: options.env,
        cwd: options.cwd,
        detached: true,
        stdio: ["ignore", fd, fd],
        ...(options.uid !== undefined ? { uid: options.uid } : {}),
        ...(options.gid !== undefined ? { gid: options.gid } : {}),
      });
      if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
      this.pid = child.pid;
      this.exited = new Promise<ExitInfo>((resolve) => {
        child.once("exit", (code, signal) => {
          this.exitInfo = { code, signal };
          resolve(this.exitInfo);
        });
        child.once("error", (err) => {
          this.exitInfo = { code: -1, signal: null };
          closeSync(openSync(options.logFile, "a"));
          resolve(this.exitInfo);
          void err;
        });
      });
      child.unref();
    } finally {
      closeSync(fd);
    }
    live.add(this);
  }

  /** Undefined while the leader runs. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** What the process wrote so far. */
  log(): string {
    try {
      return readFileSync(this.logFile, "utf8");
    } catch {
      return "";
    }
  }

  logTail(lines = 40): string {
    return this.log().split("\n").slice(-lines).join("\n");
  }

  killGroupNow(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // group already gone
    }
  }

  /** Signals the group, waits for every member to exit, SIGKILLs what is left after the grace. */
  async stop(options: StopOptions = {}): Promise<ExitInfo | undefined> {
    const graceMs = options.graceMs ?? 15_000;
    this.killGroupNow(options.signal ?? "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (groupAlive(this.pid) && Date.now() < deadline) await sleep(50);
    if (groupAlive(this.pid)) {
      this.killGroupNow("SIGKILL");
      while (groupAlive(this.pid)) await sleep(20);
    }
    await Promise.race([this.exited, sleep(2_000)]);
    live.delete(this);
    return this.exitInfo;
  }
}

export function startProcess(name: string, command: string, args: readonly string[], options: StartProcessOptions): ManagedProcess {
  return new ManagedProcess(name, command, args, options);
}

/** Every process started by this module that was not stopped yet. */
export function liveProcesses(): ManagedProcess[] {
  return [...live];
}

/** Stops every process this module started (newest first). */
export async function stopAllProcesses(): Promise<void> {
  for (const p of [...live].reverse()) await p.stop({ graceMs: 10_000 });
}

/** A TCP port that was free on `host` a moment ago. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("no port"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What we wait for, for the error message. */
  what: string;
  /** Stop waiting early (e.g. the process died): return a reason to fail with. */
  abortIf?: () => string | undefined;
}

/** Polls `check` until it returns a value other than undefined/false. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const reason = options.abortIf?.();
    if (reason) throw new Error(`gave up waiting for ${options.what}: ${reason}`);
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const last = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${last}`);
    }
    await sleep(options.intervalMs ?? 250);
  }
}
