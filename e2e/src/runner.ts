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

export async function runPhases<C>(phases: Phase<C>[], ctx: C, log: Log): Promise<PhaseResult[]> {
  const results: PhaseResult[] = [];
  let failed = false;
  for (const [i, phase] of phases.entries()) {
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
      const message = error instanceof Error ? error.message : String(error);
      results.push({ name: phase.name, status: "failed", seconds, error: message });
      log(`phase ${phase.name} FAILED after ${seconds.toFixed(1)} s: ${message}`);
      failed = true;
    }
  }
  return results;
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
