/**
 * The peers section's data and its table (pure; unit-tested): every (peer, endpoint) as the
 * median of its runs with min and max, and a ratio claimed only where the ranges do not overlap.
 */
import type { Endpoint, LoadFigures } from "./results.ts";
import { formatSpread, spread, type Spread } from "./stats.ts";

export { spread };

export type PeerName = "chart" | "mlflow-defaults" | "official-recipe";

export interface PeerRun extends LoadFigures {
  peer: PeerName;
  endpoint: Endpoint;
  round: number;
}

/** One tuning variant of the chart peer (a knob and its value) and its runs. */
export interface KnobRun extends LoadFigures {
  knob: string;
  value: string;
  endpoint: Endpoint;
  round: number;
}

export interface PeersData {
  rounds: number;
  /** Rounds per knob value (not interleaved: one value after the other). */
  knobRounds?: number;
  connections: number;
  durationSeconds: number;
  /** Before every measured run, a warm-up of this many seconds on the same endpoint. */
  warmupSeconds?: number;
  /** Once a server is Ready, a discarded pass over the endpoints of this many seconds each. */
  startWarmupSeconds?: number;
  /** Each peer in words: image, exact command, workers. */
  peers: Record<PeerName, string>;
  /** The pod resources every peer ran with. */
  resources: string;
  postgres: string;
  seededRuns: number;
  runs: PeerRun[];
  knobs: KnobRun[];
  /** Each peer's pod working set (bytes), read after every measured run. */
  memoryBytes: Partial<Record<PeerName, number[]>>;
  /** Container restarts of each peer over the rounds, with the last termination's reason. */
  restarts: Partial<Record<PeerName, { count: number; reasons: string[] }>>;
  /** The SQL of one log-batch replayed straight into the same PostgreSQL (bench/scripts/log_batch_limit.py). */
  limit?: { connections: number; statements: string[]; batchesPerSecond: number[]; errors: number };
}

/**
 * a's median over b's, claimed only when a's whole range lies above b's or below it:
 * overlapping ranges say nothing about which is faster.
 */
export function separatedRatio(a: Spread | undefined, b: Spread | undefined): number | undefined {
  if (!a || !b || b.median === 0) return undefined;
  if (a.min > b.max || a.max < b.min) return a.median / b.median;
  return undefined;
}

const fmt = (s: Spread | undefined, digits: number, unit = "") => (s ? `${s.median.toFixed(digits)}${unit} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})` : formatSpread(s, String));
const table = (head: string[], rows: string[][]) => [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

/** Errors and non-2xx answers over a set of runs. */
const failures = (runs: readonly LoadFigures[]) => runs.reduce((n, r) => n + r.errors + r.non2xx, 0);

export const PEER_ORDER: PeerName[] = ["chart", "mlflow-defaults", "official-recipe"];

export function renderPeers(d: PeersData): string[] {
  const endpoints = [...new Set(d.runs.map((r) => r.endpoint))];
  const rows: string[][] = [];
  for (const e of endpoints) {
    const of = (p: PeerName) => d.runs.filter((r) => r.endpoint === e && r.peer === p);
    const chart = spread(of("chart").map((r) => r.rps));
    for (const p of PEER_ORDER) {
      const runs = of(p);
      if (!runs.length) continue;
      const rps = spread(runs.map((r) => r.rps));
      const vs = p === "chart" ? undefined : separatedRatio(chart, rps);
      rows.push([
        e,
        p,
        fmt(rps, 1),
        fmt(spread(runs.map((r) => r.p50Ms)), 0, " ms"),
        fmt(spread(runs.map((r) => r.p99Ms)), 0, " ms"),
        String(failures(runs)),
        p === "chart" ? "" : vs === undefined ? "ranges overlap: none claimed" : `**${vs.toFixed(2)}×**`,
      ]);
    }
  }
  const knobRows: string[][] = [];
  for (const knob of [...new Set(d.knobs.map((k) => k.knob))]) {
    for (const value of [...new Set(d.knobs.filter((k) => k.knob === knob).map((k) => k.value))]) {
      for (const e of [...new Set(d.knobs.map((k) => k.endpoint))]) {
        const runs = d.knobs.filter((k) => k.knob === knob && k.value === value && k.endpoint === e);
        if (runs.length) knobRows.push([knob, value, e, fmt(spread(runs.map((r) => r.rps)), 1), fmt(spread(runs.map((r) => r.p99Ms)), 0, " ms"), String(failures(runs))]);
      }
    }
  }
  const out = [
    `${d.rounds} interleaved rounds (each round runs every endpoint on every peer, the peers' order rotating), ${d.connections} connections, ${d.durationSeconds} s per run after a ${d.warmupSeconds ?? 2} s warm-up on the same endpoint; figures are the median of the rounds with (min–max).` +
      (d.startWarmupSeconds ? ` Once a server is Ready, and again after each knob change, a discarded pass of ${d.startWarmupSeconds} s per endpoint lets every worker finish starting first.` : ""),
    "",
    ...PEER_ORDER.map((p) => `- **${p}**: ${d.peers[p]}`),
    `- every peer: ${d.resources}; ${d.postgres}; ${d.seededRuns} runs seeded (the same database, cloned per peer).`,
    "",
    table(["endpoint", "peer", "req/s", "p50", "p99", "errors + non-2xx", "chart ÷ peer (req/s)"], rows),
  ];
  const health = PEER_ORDER.filter((p) => d.memoryBytes?.[p]?.length || d.restarts?.[p]).map((p) => {
    const restarts = d.restarts?.[p];
    return [p, fmt(spread((d.memoryBytes?.[p] ?? []).map((b) => b / 2 ** 20)), 0, " MiB"), restarts ? `${restarts.count}${restarts.reasons.length ? ` (${restarts.reasons.join(", ")})` : ""}` : "—"];
  });
  if (health.length) out.push("", "Each peer's pod over the rounds: working set after every run (kubelet /stats/summary), and container restarts:", "", table(["peer", "working set", "restarts"], health));
  if (d.limit) {
    const replay = spread(d.limit.batchesPerSecond);
    const server = spread(d.runs.filter((r) => r.endpoint === "log-batch" && r.peer === "chart").map((r) => r.rps));
    out.push(
      "",
      `The write limit: the ${d.limit.statements.length} statements one log-batch executes (MLflow's own SqlAlchemyStore, recorded), replayed with psycopg2 over ${d.limit.connections} connections into the same PostgreSQL, one transaction per batch: ${fmt(replay, 1)} batches/s${d.limit.errors ? ` (${d.limit.errors} failed)` : ""}.` +
        (replay && server ? ` The chart serves log-batch at **${((server.median / replay.median) * 100).toFixed(0)}%** of that (medians).` : ""),
    );
  }
  if (knobRows.length) out.push("", `The knobs, each varied alone (same pod resources; ${d.knobRounds ?? "several"} rounds per value, one value after the other, not interleaved). The chart's knobs start from the chart's defaults; the server knob runs on the plain peer, since MLflow refuses gunicorn beside the chart's \`--allowed-hosts\`:`, "", table(["knob", "value", "endpoint", "req/s", "p99", "errors + non-2xx"], knobRows));
  return out;
}
