/** The machine the figures were measured on. */
import { readFileSync } from "node:fs";
import { availableParallelism, release, totalmem } from "node:os";
import type { Machine } from "./results.ts";

export function cpuModel(cpuinfo: string): string {
  return /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown CPU";
}

export function machineInfo(): Machine {
  let info = "";
  try {
    info = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    // not Linux: model stays unknown
  }
  return { cpus: availableParallelism(), memoryBytes: totalmem(), cpuModel: cpuModel(info), kernel: release(), node: process.version };
}
