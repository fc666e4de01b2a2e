/**
 * The from-source build figures, as packages/cluster/from-source/build-*.sh record them in
 * build-stats.tsv next to the binaries (one row per binary built; the first rows
 * are the cold build that filled the cache). Pure, unit-tested.
 */
export interface BuildStep {
  what: string;
  seconds: number;
  /** Peak RSS of the build process, when recorded. */
  peakRssBytes?: number;
  builtAt: string;
}

/**
 * build-kubernetes.sh writes `binary seconds max_rss_kb go date` with a header;
 * build-coredns.sh writes `version seconds go date` without one. Keep the first row
 * per name (the cold build; later rows are rebuilds on a warm Go cache).
 */
export function parseBuildStats(text: string, name?: string): BuildStep[] {
  const rows = text.split("\n").map((l) => l.split("\t")).filter((r) => r.length >= 4 && r[0] !== "binary");
  const steps = new Map<string, BuildStep>();
  for (const r of rows) {
    const withRss = r.length >= 5;
    const what = name ? `${name} ${r[0]}` : (r[0] ?? "?");
    if (steps.has(what)) continue;
    const step: BuildStep = { what, seconds: Number(r[1]), builtAt: (withRss ? r[4] : r[3]) ?? "" };
    if (withRss) step.peakRssBytes = Number(r[2]) * 1024;
    steps.set(what, step);
  }
  return [...steps.values()].filter((s) => Number.isFinite(s.seconds));
}
