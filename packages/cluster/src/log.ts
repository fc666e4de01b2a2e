/** Step logging: every phase says what it does and how long it took. */
export type Logger = (msg: string) => void;

export const stderrLogger =
  (prefix: string): Logger =>
  (msg) =>
    process.stderr.write(`[${prefix}] ${msg}\n`);

export async function step<T>(log: Logger, what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  log(`${what} ...`);
  try {
    const out = await fn();
    log(`${what}: done in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    return out;
  } catch (e) {
    log(`${what}: FAILED after ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    throw e;
  }
}

/** Thrown from a waitFor probe to stop waiting at once (e.g. the process died). */
export class FatalWaitError extends Error {}

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 500): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      if (e instanceof FatalWaitError) throw e;
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}
