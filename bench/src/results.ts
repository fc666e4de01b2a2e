/**
 * bench/results.json (machine-readable) and bench/RESULTS.md (the tables the README quotes).
 * A run of a subset (`--only`) replaces only its own sections; each section keeps the
 * machine and date it was measured on. Everything here is pure and unit-tested.
 */
import type { BuildStep } from "./buildstats.ts";
import { renderPeers, type PeersData } from "./peers-report.ts";
import { formatBytes, formatSeconds, formatSpread, ratio, spread } from "./stats.ts";

export interface Machine {
  cpus: number;
  memoryBytes: number;
  cpuModel: string;
  kernel: string;
  node: string;
}

export interface Section<T> {
  /** ISO date-time the section finished. */
  measuredAt: string;
  machine: Machine;
  /** Wall time of the whole section. */
  seconds: number;
  data: T;
  /** Caveats worth printing next to the figures. */
  notes: string[];
  /** Set when the section could not complete; the data holds what was measured. */
  error?: string;
}

export interface TierTime {
  seconds: number;
  exitCode: number;
}

export interface TiersData {
  fast?: TierTime;
  integration?: TierTime;
  e2e?: TierTime & { phases: { name: string; status: string; seconds: number }[] };
}

export interface InstallTime {
  /** Image import into the node's containerd before the install (cold only: the stand-in for a registry pull). */
  imageImportSeconds?: number;
  /** From `helm install` starting to the first successful REST call through the NodePort. */
  toFirstRestSeconds: number;
  /** From `helm install` starting to it returning with --wait (every pod Ready). */
  helmWaitSeconds: number;
}

export interface InstallData {
  cold?: InstallTime;
  warm?: InstallTime;
  /** Every round (the first is also `cold`/`warm`). */
  runs?: { cold: InstallTime[]; warm: InstallTime[] };
}

/** One load run (autocannon). */
export interface LoadFigures {
  requests: number;
  durationSeconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors and timeouts. */
  errors: number;
  non2xx: number;
}

export type Endpoint = "get-run" | "log-batch" | "search-runs" | "artifact-put" | "artifact-get";
export interface ScalingRow extends LoadFigures {
  replicas: number;
  workers: number;
  /** Working-set bytes of each server pod after the load (kubelet /stats/summary). */
  podMemoryBytes: number[];
}

export interface ScalingData {
  connections: number;
  durationSeconds: number;
  endpoint: Endpoint;
  rows: ScalingRow[];
}

export interface ImageFigure {
  ref: string;
  /** `docker image inspect` .Size (uncompressed, all layers). */
  bytes?: number;
  buildSeconds?: number;
  status: "built" | "failed" | "timed out" | "not built";
  error?: string;
}

/** Interleaved runs of one image (bench/src/image-runtime.ts). */
export interface ImageRuntime {
  label: string;
  ref: string;
  /** Per run: `docker run` to the first 200 from /health. */
  startToReadySeconds: number[];
  /** Per worker per run: resident memory after the server sat idle. */
  idleWorkerRssBytes: number[];
}

export interface ImageData {
  base: ImageFigure;
  ours: ImageFigure;
  /** MLflow's official recipe: `pip install mlflow==<same version>` on the same base. */
  official?: ImageFigure;
  /** images/mlflow as it was before the slim change (the mlflow package's whole dependency set). */
  before?: ImageFigure;
  runtime?: ImageRuntime[];
}

export interface FromSourceData {
  kubernetesVersion: string;
  /** The cold build that filled the cache, per binary (from build-stats.tsv). */
  build: BuildStep[];
}

export interface KindData {
  kubernetesVersion: string;
  nodeImage: { ref?: string; coldSeconds?: number; warmSeconds?: number; bytes?: number };
  /** KindProvider.up() with the node image cached: kind create (node Ready) + registry wiring. */
  up: number[];
  down: number[];
  e2e: { provider: string; seconds: number; exitCode: number; phases: { name: string; status: string; seconds: number }[] }[];
}

export interface Sections {
  kind?: Section<KindData>;
  /** The same figures for minikube: nodeImage is its base image (kicbase) built on the kind node image. */
  minikube?: Section<KindData>;
  build?: Section<FromSourceData>;
  tiers?: Section<TiersData>;
  install?: Section<InstallData>;
  peers?: Section<PeersData>;
  scaling?: Section<ScalingData>;
  image?: Section<ImageData>;
}

export type SectionName = keyof Sections;
export const SECTION_NAMES: SectionName[] = ["kind", "minikube", "build", "tiers", "install", "peers", "scaling", "image"];

export interface Results {
  schema: 1;
  sections: Sections;
}

export const emptyResults = (): Results => ({ schema: 1, sections: {} });

/** New sections replace old ones of the same name; the others stay as they were. */
export function mergeResults(old: Results | undefined, fresh: Sections): Results {
  return { schema: 1, sections: { ...(old?.sections ?? {}), ...fresh } };
}

/** Reads a results file; sections the bench no longer measures (the retired `local` cluster's, `throughput` against a plain server on SQLite) are dropped. */
export function parseResults(text: string): Results {
  const r = JSON.parse(text) as Results;
  if (r?.schema !== 1 || typeof r.sections !== "object") throw new Error("not a bench results file (schema 1)");
  const sections = Object.fromEntries(Object.entries(r.sections).filter(([name]) => (SECTION_NAMES as string[]).includes(name))) as Sections;
  return { schema: 1, sections };
}

export const describeMachine = (m: Machine) =>
  `${m.cpus} CPU (${m.cpuModel}), ${formatBytes(m.memoryBytes)} RAM, Linux ${m.kernel}, Node ${m.node}`;

const num = (v: number | undefined, digits = 0) => (v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(digits));
const ms = (v: number | undefined) => (v === undefined ? "—" : `${num(v, v < 10 ? 1 : 0)} ms`);
const times = (v: number | undefined) => (v === undefined ? "—" : `${v.toFixed(2)}×`);
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

function sectionHeader(title: string, s: Section<unknown>, machines: number): string[] {
  const lines = [`## ${title}`, ""];
  const meta = `Measured ${s.measuredAt.slice(0, 16).replace("T", " ")} UTC in ${formatSeconds(s.seconds)}${machines > 1 ? ` on ${describeMachine(s.machine)}` : ""}.`;
  lines.push(meta, "");
  if (s.error) lines.push(`**Incomplete:** ${s.error}`, "");
  return lines;
}

const notes = (s: Section<unknown>) => (s.notes.length ? ["", ...s.notes.map((n) => `- ${n}`)] : []);

function renderTiers(s: Section<TiersData>, machines: number): string[] {
  const d = s.data;
  const status = (t: TierTime) => (t.exitCode === 0 ? "passed" : `exit ${t.exitCode}`);
  const rows: string[][] = [];
  if (d.fast) rows.push(["fast (`pnpm test`)", formatSeconds(d.fast.seconds), status(d.fast)]);
  if (d.integration) rows.push(["integration (`pnpm test:integration`)", formatSeconds(d.integration.seconds), status(d.integration)]);
  if (d.e2e) rows.push(["e2e (`pnpm e2e`)", formatSeconds(d.e2e.seconds), status(d.e2e)]);
  const out = [...sectionHeader("Test tiers (wall time)", s, machines), table(["tier", "wall time", "result"], rows)];
  if (d.e2e?.phases.length) {
    out.push("", "e2e by phase:", "", table(["phase", "time", "status"], d.e2e.phases.map((p) => [p.name, formatSeconds(p.seconds), p.status])));
  }
  return [...out, ...notes(s)];
}

function renderInstall(s: Section<InstallData>, machines: number): string[] {
  const rows: string[][] = [];
  const { cold, warm } = s.data;
  if (cold) {
    const total = (cold.imageImportSeconds ?? 0) + cold.toFirstRestSeconds;
    rows.push(["cold (image not on the node)", formatSeconds(total), formatSeconds(cold.imageImportSeconds), formatSeconds(cold.toFirstRestSeconds), formatSeconds(cold.helmWaitSeconds)]);
  }
  if (warm) rows.push(["warm (image already on the node)", formatSeconds(warm.toFirstRestSeconds), "—", formatSeconds(warm.toFirstRestSeconds), formatSeconds(warm.helmWaitSeconds)]);
  const out = [
    ...sectionHeader("Time from `helm install` to the first successful REST call", s, machines),
    table(["image", "total to first REST call", "image import", "`helm install` → first REST call", "`helm install --wait` returns"], rows),
  ];
  const runs = s.data.runs;
  if (runs && runs.warm.length > 1) {
    const line = (what: string, r: InstallTime[]) => [what, spreadOf(r.map((x) => x.toFirstRestSeconds), formatSeconds), spreadOf(r.map((x) => x.helmWaitSeconds), formatSeconds)];
    const repeated = [...(runs.cold.length ? [line("cold (pulled from the registry)", runs.cold)] : []), line("warm", runs.warm)];
    out.push("", "Every round, median (min–max):", "", table(["image", "`helm install` → first REST call", "`helm install --wait` returns"], repeated));
  }
  return [...out, ...notes(s)];
}

function renderPeersSection(s: Section<PeersData>, machines: number): string[] {
  return [...sectionHeader("Throughput and latency against fair peers", s, machines), ...renderPeers(s.data), ...notes(s)];
}

function renderScaling(s: Section<ScalingData>, machines: number): string[] {
  const d = s.data;
  const base = d.rows.find((r) => r.replicas === 1 && r.workers === 1);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);
  const rows = d.rows.map((r) => [
    String(r.replicas),
    String(r.workers),
    num(r.rps, 1),
    times(ratio(r.rps, base?.rps)),
    ms(r.p50Ms),
    ms(r.p99Ms),
    String(r.errors + r.non2xx),
    formatBytes(mean(r.podMemoryBytes)),
    formatBytes(r.podMemoryBytes.length ? r.podMemoryBytes.reduce((a, b) => a + b, 0) : undefined),
  ]);
  return [
    ...sectionHeader("Scaling with workers and replicas", s, machines),
    `${d.endpoint} through the NodePort, ${d.connections} connections, ${d.durationSeconds} s per row.`,
    "",
    table(["replicas", "workers/pod", "req/s", "vs 1×1", "p50", "p99", "errors + non-2xx", "memory/pod", "memory, all pods"], rows),
    ...notes(s),
  ];
}

function renderFromSource(s: Section<FromSourceData>, machines: number): string[] {
  const d = s.data;
  const total = d.build.reduce((n, b) => n + b.seconds, 0);
  const rows = d.build.map((b) => [b.what, formatSeconds(b.seconds), b.peakRssBytes ? formatBytes(b.peakRssBytes) : "—", b.builtAt.slice(0, 16).replace("T", " ")]);
  rows.push(["**total (cold, one binary at a time)**", `**${formatSeconds(total)}**`, "", ""]);
  return [
    ...sectionHeader(`From-source builds for the kind node image (Kubernetes ${d.kubernetesVersion}, CoreDNS, from the Go module proxy)`, s, machines),
    table(["built", "seconds", "peak RSS", "when (UTC)"], rows),
    ...notes(s),
  ];
}

interface ProviderLabels {
  title: string;
  image: string;
  cold: string;
  warm: string;
  up: string;
  down: string;
}

const KIND_LABELS = (v: string): ProviderLabels => ({
  title: `kind on this machine (node image built here, Kubernetes ${v})`,
  image: "Node image",
  cold: "node image, cold (our layers and component images removed first)",
  warm: "node image, warm (inputs unchanged: nothing built)",
  up: "`up`: kind create cluster to a Ready node + local registry wired",
  down: "`down`: kind delete cluster, registry removed, dockerd stopped",
});

const MINIKUBE_LABELS = (v: string): ProviderLabels => ({
  title: `minikube on this machine (base image built here on the kind node image, Kubernetes ${v})`,
  image: "Base image",
  cold: "base image, cold (our kicbase images removed first; the kind node image cached)",
  warm: "base image, warm (inputs unchanged: nothing built)",
  up: "`up`: minikube start to a Ready node (--wait=all) + local registry wired",
  down: "`down`: minikube delete, registry removed, dockerd stopped",
});

function renderKind(s: Section<KindData>, machines: number, labels = KIND_LABELS(s.data.kubernetesVersion)): string[] {
  const d = s.data;
  const rows: string[][] = [
    [labels.cold, formatSeconds(d.nodeImage.coldSeconds)],
    [labels.warm, formatSeconds(d.nodeImage.warmSeconds)],
    [labels.up, d.up.map((x) => formatSeconds(x)).join(", ") || "—"],
    [labels.down, d.down.map((x) => formatSeconds(x)).join(", ") || "—"],
    ...d.e2e.map((e) => [`whole e2e, \`--provider ${e.provider}\`${e.exitCode === 0 ? "" : ` (exit ${e.exitCode})`}`, formatSeconds(e.seconds)]),
  ];
  const out = [
    ...sectionHeader(labels.title, s, machines),
    table(["what", "wall time"], rows),
  ];
  if (d.nodeImage.ref) out.push("", `${labels.image} \`${d.nodeImage.ref}\`${d.nodeImage.bytes ? `, ${formatBytes(d.nodeImage.bytes)}` : ""}.`);
  if (d.e2e.length) {
    const names = [...new Set(d.e2e.flatMap((e) => e.phases.map((p) => p.name)))];
    const cell = (e: KindData["e2e"][number], n: string) => {
      const p = e.phases.find((x) => x.name === n);
      return p ? `${formatSeconds(p.seconds)}${p.status === "passed" ? "" : ` (${p.status})`}` : "—";
    };
    out.push("", "e2e by phase:", "", table(["phase", ...d.e2e.map((e) => e.provider)], names.map((n) => [n, ...d.e2e.map((e) => cell(e, n))])));
  }
  return [...out, ...notes(s)];
}

/** "median (min–max), n" of some samples, each formatted by `f`. */
/** "median (min–max), n=N". */
function spreadOf(samples: number[], f: (v: number) => string): string {
  const s = spread(samples);
  return s ? `${formatSpread(s, f)}, n=${s.n}` : "—";
}

function renderImage(s: Section<ImageData>, machines: number): string[] {
  const d = s.data;
  const row = (what: string, f: ImageFigure) => [what, `\`${f.ref}\``, f.status === "built" ? `${formatBytes(f.bytes)} (${f.bytes} B)` : `${f.status}${f.error ? `: ${f.error}` : ""}`, formatSeconds(f.buildSeconds)];
  const rows = [row("Debian bookworm minbase (the common base)", d.base), row("ours (images/mlflow)", d.ours)];
  if (d.before) rows.push(row("images/mlflow before the slim change (the `mlflow` package's whole dependency set)", d.before));
  if (d.official) rows.push(row("official recipe: `pip install mlflow==<same version>`", d.official));
  const r = ratio(d.official?.bytes, d.ours.bytes);
  const out = [
    ...sectionHeader("Image size", s, machines),
    table(["image", "ref", "size", "build time (this run)"], rows),
    ...(r !== undefined ? ["", `The official recipe's image is **${times(r)}** the size of ours.`] : []),
  ];
  if (d.runtime?.length) {
    out.push(
      "",
      "Start and idle memory (median (min–max) over interleaved runs):",
      "",
      table(
        ["image", "`docker run` → first 200 from /health", "idle resident memory per worker"],
        d.runtime.map((x) => [`${x.label} \`${x.ref}\``, spreadOf(x.startToReadySeconds, formatSeconds), spreadOf(x.idleWorkerRssBytes, formatBytes)]),
      ),
    );
  }
  return [...out, ...notes(s)];
}

export function renderMarkdown(results: Results): string {
  const s = results.sections;
  const present: Section<unknown>[] = SECTION_NAMES.map((n) => s[n] as Section<unknown> | undefined).filter((x) => x !== undefined);
  const machineKeys = new Set(present.map((x) => describeMachine(x.machine)));
  const out = [
    "# Benchmark results",
    "",
    "Written by `pnpm bench` (bench/src/main.ts) together with bench/results.json; do not edit by hand.",
    "",
  ];
  if (machineKeys.size === 1 && present[0]) out.push(`Machine: ${describeMachine(present[0].machine)}.`, "");
  if (!present.length) out.push("No figures yet: run `pnpm bench`.");
  const n = machineKeys.size;
  if (s.kind) out.push(...renderKind(s.kind, n), "");
  if (s.minikube) out.push(...renderKind(s.minikube, n, MINIKUBE_LABELS(s.minikube.data.kubernetesVersion)), "");
  if (s.build) out.push(...renderFromSource(s.build, n), "");
  if (s.tiers) out.push(...renderTiers(s.tiers, n), "");
  if (s.install) out.push(...renderInstall(s.install, n), "");
  if (s.peers) out.push(...renderPeersSection(s.peers, n), "");
  if (s.scaling) out.push(...renderScaling(s.scaling, n), "");
  if (s.image) out.push(...renderImage(s.image, n), "");
  return `${out.join("\n").trimEnd()}\n`;
}
