/**
 * Runs named phases in order, logging what each does and how long it took. The
 * first failure stops the run; later phases are reported as not run. The result
 * list is what the JSON report and the summary are made of.
 */
export interface Phase<C> {
  name: string;
  /** One line: what this phase does. */
  does: string;
  run: (ctx: C) => Promise<void>;
}

export interface PhaseResult {
  name: string;
  status: "passed" | "failed" | "not run";
  seconds: number;
  error?: string;
}

export type Log = (line: string) => void;

export async function runPhases<C>(phases: Phase<C>[], ctx: C, log: Log, skip: string[] = []): Promise<PhaseResult[]> {
  const unknown = skip.filter((s) => !phases.some((p) => p.name === s));
  if (unknown.length) throw new Error(`--skip names unknown phase(s) ${unknown.join(", ")}; phases: ${phases.map((p) => p.name).join(", ")}`);
  const results: PhaseResult[] = [];
  let failed = false;
  for (const [i, phase] of phases.entries()) {
    if (skip.includes(phase.name)) {
      log(`phase ${i + 1}/${phases.length} ${phase.name}: SKIPPED (--skip)`);
      results.push({ name: phase.name, status: "not run", seconds: 0 });
      continue;
    }
    if (failed) {
      results.push({ name: phase.name, status: "not run", seconds: 0 });
      continue;
    }
    log(`phase ${i + 1}/${phases.length} ${phase.name}: ${phase.does}`);
    const started = performance.now();
    try {
      await phase.run(ctx);
      const seconds = (performance.now() - started) / 1000;
      results.push({ name: phase.name, status: "passed", seconds });
      log(`phase ${phase.name} passed in ${seconds.toFixed(1)} s`);
    } catch (error) {
      const seconds = (performance.now() - started) / 1000;
      const message = describeError(error);
      results.push({ name: phase.name, status: "failed", seconds, error: message });
      log(`phase ${phase.name} FAILED after ${seconds.toFixed(1)} s: ${message}`);
      failed = true;
    }
  }
  return results;
}

/**
 * One readable line for an error. @kubernetes/client-node's ApiException carries
 * the whole HTTP exchange in its message; the API's own `message` is what matters.
 */
export function describeError(error: unknown): string {
  const e = error as { code?: number; body?: unknown; message?: string };
  if (typeof e?.code === "number" && e.body !== undefined) {
    try {
      const body = typeof e.body === "string" ? JSON.parse(e.body) : e.body;
      if (body && typeof body === "object" && "message" in body) return `Kubernetes API ${e.code}: ${(body as { message: string }).message}`;
    } catch {
      // not JSON: fall through
    }
  }
  return error instanceof Error ? error.message.split("\n")[0] ?? error.message : String(error);
}

/** The report in the shape of vitest's JSON reporter, so one tally reads every tier. */
export function toReport(results: PhaseResult[]) {
  const count = (s: PhaseResult["status"]) => results.filter((r) => r.status === s).length;
  return {
    numPassedTests: count("passed"),
    numFailedTests: count("failed"),
    numPendingTests: count("not run"),
    numTodoTests: 0,
    numFailedTestSuites: count("failed") ? 1 : 0,
    phases: results,
  };
}

export function summary(results: PhaseResult[]): string {
  return results.map((r) => `  ${r.status.padEnd(7)} ${r.name.padEnd(20)} ${r.seconds.toFixed(1).padStart(7)} s${r.error ? `  ${r.error}` : ""}`).join("\n");
}
