/** Summary statistics for the figures (pure; unit-tested). */

/**
 * The p-th percentile (0-100) by the nearest-rank method: the smallest sample with at
 * least p% of the samples at or below it. Undefined for no samples.
 */
export function percentile(samples: readonly number[], p: number): number | undefined {
  if (!samples.length) return undefined;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be from 0 to 100, got ${p}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export interface Summary {
  n: number;
  min: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(samples: readonly number[]): Summary | undefined {
  if (!samples.length) return undefined;
  const sum = samples.reduce((a, b) => a + b, 0);
  return {
    n: samples.length,
    min: Math.min(...samples),
    mean: sum / samples.length,
    p50: percentile(samples, 50) as number,
    p99: percentile(samples, 99) as number,
    max: Math.max(...samples),
  };
}

/** Repeated runs of one figure: the median (middle two averaged for an even count), min and max. */
export interface Spread {
  n: number;
  median: number;
  min: number;
  max: number;
}

export function spread(xs: readonly number[]): Spread | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { n: s.length, median, min: s[0] as number, max: s[s.length - 1] as number };
}

/** "median (min–max)" with each value formatted by f; "—" for no runs. */
export function formatSpread(s: Spread | undefined, f: (v: number) => string): string {
  return s ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : "—";
}

/** a / b, or undefined when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || b === 0) return undefined;
  return a / b;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return "—";
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
}

/** Seconds for tables: one decimal under 100 s, whole seconds above. */
export function formatSeconds(s: number | undefined): string {
  if (s === undefined) return "—";
  return s >= 100 ? `${s.toFixed(0)} s` : `${s.toFixed(1)} s`;
}
