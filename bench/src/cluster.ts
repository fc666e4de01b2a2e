#!/usr/bin/env node
/**
 * The cluster-side figures, in one session on one cluster: the image sizes, the time from
 * `helm install` to the first REST call (cold and warm image), throughput against fair peers
 * (peers.ts), and scaling with workers and replicas. It reuses the e2e's phases
 * (preflight, cluster, image, dependencies, values) and tears everything down at the end.
 * main.ts runs this file under the cluster lock (flock), so the lock is held only while the
 * kind cluster or the project's dockerd is in use.
 * Usage: node bench/src/cluster.ts --sections kind,install,peers,scaling,image --out file.json
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KindProvider, nodeAddress, waitFor, docker$, type ClusterProvider } from "@mlflow-k8s/cluster";
import { MlflowClient } from "@mlflow-k8s/mlflow-client";
import YAML from "yaml";
import { readFileSync } from "node:fs";
import type { E2eOptions } from "../../e2e/src/args.ts";
import { need, type Ctx } from "../../e2e/src/context.ts";
import { serverPods, serverSelector, waitForExactlyReady } from "../../e2e/src/kube.ts";
import { clusterUp, preflight } from "../../e2e/src/phases/cluster.ts";
import { dependencies, newPassword } from "../../e2e/src/phases/dependencies.ts";
import { image as imagePhase } from "../../e2e/src/phases/image.ts";
import { CHART, helmValuesArgs, values as valuesPhase } from "../../e2e/src/phases/install.ts";
import { removeRelease } from "../../e2e/src/phases/lifecycle.ts";
import { stopAllProcesses } from "@mlflow-k8s/testbed";
import { buildImages } from "./image.ts";
import { kindSection } from "./kind.ts";
import { minikubeSection } from "./minikube.ts";
import { runLoad } from "./loadgen.ts";
import { machineInfo } from "./machine.ts";
import { measurePeers } from "./peers.ts";
import type { Endpoint, InstallData, InstallTime, ScalingData, Section, Sections } from "./results.ts";
import type { PeersData } from "./peers-report.ts";
import { podMemoryBytes, readStatsSummary } from "./kubelet.ts";

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Load settings: long enough for a stable rate, short enough to keep `pnpm bench` well under 30 min. */
export const LOAD = { connections: 8, durationSeconds: 10, warmupSeconds: 2 };
/** Fixed so the install timer can poll before the Service exists. */
const NODE_PORT = 31555;
const SCALING: { replicas: number; workers: number }[] = [
  { replicas: 1, workers: 1 },
  { replicas: 1, workers: 2 },
  { replicas: 1, workers: 4 },
  { replicas: 2, workers: 1 },
  { replicas: 4, workers: 1 },
];

function section<T>(started: number, data: T, notes: string[], error?: string): Section<T> {
  return { measuredAt: new Date().toISOString(), machine: machineInfo(), seconds: (performance.now() - started) / 1000, data, notes, ...(error ? { error } : {}) };
}

const message = (e: unknown) => (e instanceof Error ? e.message.split("\n")[0] ?? e.message : String(e));

/** The chart's own defaults for what the e2e's values override (replicas, workers, resources). */
function chartDefaultsOverride(file: string, nodePort: number): void {
  const chart = YAML.parse(readFileSync(join(CHART, "values.yaml"), "utf8")) as { replicaCount: number; server: { workers: number }; resources: unknown };
  const override = { replicaCount: chart.replicaCount, server: { workers: chart.server.workers }, resources: chart.resources, service: { nodePort } };
  writeFileSync(file, YAML.stringify(override));
}

interface Session {
  ctx: Ctx;
  provider: ClusterProvider;
  baseUrl: string;
  release: () => Promise<void>;
  dbCount: number;
}

/** A database of its own for every install, so each one migrates an empty schema as a new user's would. */
async function freshDatabase(s: Session): Promise<string> {
  s.dbCount += 1;
  const name = `bench${s.dbCount}`;
  await need(s.ctx, "db", "dependencies").sql(`CREATE DATABASE ${name} OWNER mlflow`);
  return name;
}

/** `helm install --wait` while polling the NodePort; returns both clocks. */
async function timedInstall(s: Session, dbName: string): Promise<InstallTime> {
  const { ctx } = s;
  const tools = need(ctx, "tools", "cluster");
  const client = new MlflowClient({ baseUrl: s.baseUrl, retries: 0, timeoutMs: 2000 });
  const started = performance.now();
  let helmSeconds: number | undefined;
  let helmError: unknown;
  const helm = tools
    .helm(["install", ctx.opts.release, CHART, "-n", ctx.opts.namespace, ...helmValuesArgs(ctx), "--set-string", `database.name=${dbName}`, "--wait", "--timeout", `${ctx.opts.timeoutSeconds}s`])
    .then(() => (helmSeconds = (performance.now() - started) / 1000))
    .catch((e: unknown) => (helmError = e));
  let firstRest: number | undefined;
  // Bounded: at most timeoutSeconds, one attempt per 200 ms (plus the attempt's own 2 s timeout).
  for (let i = 0; i < ctx.opts.timeoutSeconds * 5 && firstRest === undefined && helmError === undefined; i++) {
    try {
      await client.searchExperiments({ maxResults: 1 });
      firstRest = (performance.now() - started) / 1000;
    } catch {
      await sleep(200);
    }
  }
  await helm;
  if (helmError) throw new Error(`helm install failed: ${message(helmError)}`);
  if (firstRest === undefined) throw new Error(`no successful REST call within ${ctx.opts.timeoutSeconds} s of helm install`);
  log(`  first REST call ${firstRest.toFixed(1)} s after helm install started; helm --wait returned after ${helmSeconds?.toFixed(1)} s`);
  return { toFirstRestSeconds: firstRest, helmWaitSeconds: helmSeconds ?? NaN };
}

async function uninstall(s: Session): Promise<void> {
  const { ctx } = s;
  await need(ctx, "tools", "cluster").helm(["uninstall", ctx.opts.release, "-n", ctx.opts.namespace, "--wait", "--ignore-not-found"]);
  await waitFor("release pods gone", 180_000, async () => ((await serverPods(need(ctx, "kube", "cluster"), ctx.opts.namespace, ctx.opts.release)).length ? undefined : true), 1000);
}

/** kind: remove the pushed image from the node's containerd, so the next install pulls it from the registry. */
async function evictFromKindNode(provider: KindProvider, ref: string): Promise<void> {
  const t = await provider.engine.ensure();
  await docker$(t, { nothrow: true })`${t.bin} exec ${provider.controlPlane} ctr -n k8s.io images rm ${ref}`;
}

/** Repeats of the install timing (each cold + warm); medians and ranges go in RESULTS.md. */
export const INSTALL_ROUNDS = 3;

async function installSection(s: Session): Promise<Section<InstallData>> {
  const started = performance.now();
  const { ctx, provider } = s;
  const ref = need(ctx, "image", "image");
  const data: InstallData = {};
  const notes = [
    "Each install gets an empty database, so both include the schema migration (the chart's pre-install Job) and the server's start.",
    "First REST call: `experiments/search` through the NodePort on 127.0.0.1, polled every 200 ms from the moment `helm install` starts.",
  ];
  try {
    const kind = provider instanceof KindProvider ? provider : undefined;
    if (kind) notes.push(`Cold (kind): the image removed from the node's containerd first, so the pods pull \`${ref}\` from the local registry; the pull is inside the time to the first REST call.`);
    else {
      await provider.loadImage(ref);
      notes.push(`Cold: not measured with provider ${provider.name} (the bench evicts images from kind's node only).`);
    }
    notes.push(`${INSTALL_ROUNDS} rounds of ${kind ? "cold, then warm" : "warm"}, each uninstalled before the next; the table gives the first round, the medians the rest.`);
    data.runs = { cold: [], warm: [] };
    for (let round = 1; round <= INSTALL_ROUNDS; round++) {
      if (kind) {
        await evictFromKindNode(kind, ref);
        data.runs.cold.push(await timedInstall(s, await freshDatabase(s)));
        await uninstall(s);
      }
      data.runs.warm.push(await timedInstall(s, await freshDatabase(s)));
      // The last warm release stays: the sections after this one load it.
      if (round < INSTALL_ROUNDS) await uninstall(s);
    }
    if (data.runs.cold[0]) data.cold = data.runs.cold[0];
    data.warm = data.runs.warm[0];
    return section(started, data, notes);
  } catch (e) {
    return section(started, data, notes, message(e));
  }
}

async function seedRun(baseUrl: string): Promise<string> {
  const client = new MlflowClient({ baseUrl, retries: 4, timeoutMs: 10_000 });
  const experimentId = await client.createExperiment(`bench-${Date.now()}`);
  const run = await client.createRun({ experimentId, runName: "bench", tags: [{ key: "suite", value: "bench" }] });
  const runId = run.info.run_id;
  await client.logBatch(runId, {
    params: Array.from({ length: 10 }, (_, i) => ({ key: `p${i}`, value: String(i) })),
    metrics: Array.from({ length: 10 }, (_, i) => ({ key: `m${i}`, value: i, timestamp: Date.now(), step: 0 })),
  });
  return runId;
}

async function measure(baseUrl: string, endpoint: Endpoint, runId: string) {
  await runLoad({ baseUrl, endpoint, runId, connections: LOAD.connections, durationSeconds: LOAD.warmupSeconds, maxRequests: 20_000 });
  const r = await runLoad({ baseUrl, endpoint, runId, connections: LOAD.connections, durationSeconds: LOAD.durationSeconds });
  log(`  ${endpoint} ${baseUrl}: ${r.rps.toFixed(1)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.errors} errors, ${r.non2xx} non-2xx`);
  return r;
}

async function peersSection(s: Session): Promise<Section<PeersData>> {
  const started = performance.now();
  const notes = [
    "Every peer runs in the same cluster at the same time (idle while another is measured), on the same PostgreSQL and GCS emulator, reached through its own NodePort on the node's address by autocannon on this machine, which shares the 2 cores with them.",
    "log-batch: 10 metrics per request, a new step each time, to the bench run. get-run: the bench run (10 params, 10 metrics). search-runs: `params.group = '7' and metrics.loss < 0.5`, one page of 50, over the seeded runs. artifact-put: a new 1 MiB object per request through the server's artifact proxy to the emulator. artifact-get: the seeded 1 MiB object back through the proxy.",
    "A ratio is printed only where the chart's range of rounds and the peer's do not overlap.",
  ];
  try {
    return section(started, await measurePeers(s.ctx, s.provider, log), notes);
  } catch (e) {
    return section(started, { rounds: 0, knobRounds: 0, connections: 0, durationSeconds: 0, warmupSeconds: 0, seededRuns: 0, peers: { chart: "", "mlflow-defaults": "", "official-recipe": "" }, resources: "", postgres: "", runs: [], knobs: [], memoryBytes: {}, restarts: {} } as PeersData, notes, message(e));
  }
}

async function scalingSection(s: Session): Promise<Section<ScalingData>> {
  const started = performance.now();
  const { ctx } = s;
  const data: ScalingData = { connections: LOAD.connections, durationSeconds: LOAD.durationSeconds, endpoint: "get-run", rows: [] };
  const notes = [
    "Each row: `helm upgrade --wait` with replicaCount and server.workers set, wait until exactly that many pods are Ready and none is terminating, a 2 s warm-up, then the measured run.",
    "Memory: the pod's working set from the kubelet's /stats/summary (through the API server's node proxy), read right after the measured run.",
    "Every pod shares the machine's cores with the load generator, PostgreSQL and the control plane: past the point where they are saturated, more workers or pods only add memory and contention.",
    "One 10 s run per row (the peers section repeats its runs; this one does not).",
  ];
  try {
    const dbName = `bench${s.dbCount}`;
    const runId = await seedRun(s.baseUrl);
    for (const shape of SCALING) {
      await need(ctx, "tools", "cluster").helm([
        "upgrade", ctx.opts.release, CHART, "-n", ctx.opts.namespace, ...helmValuesArgs(ctx), "--set-string", `database.name=${dbName}`,
        "--set", `replicaCount=${shape.replicas}`, "--set", `server.workers=${shape.workers}`, "--wait", "--timeout", `${ctx.opts.timeoutSeconds}s`,
      ]);
      const pods = await waitForExactlyReady(need(ctx, "kube", "cluster"), { namespace: ctx.opts.namespace, labelSelector: serverSelector(ctx.opts.release), count: shape.replicas, timeoutMs: ctx.opts.timeoutSeconds * 1000 });
      log(`  ${shape.replicas} replica(s) x ${shape.workers} worker(s): ${pods.map((p) => p.metadata?.name).join(", ")}`);
      const r = await measure(s.baseUrl, "get-run", runId);
      const names = pods.map((p) => p.metadata?.name ?? "");
      const memory = podMemoryBytes(await readStatsSummary(s.ctx), ctx.opts.namespace, names);
      data.rows.push({ ...shape, ...r, podMemoryBytes: memory });
    }
    return section(started, data, notes);
  } catch (e) {
    return section(started, data, notes, message(e));
  }
}

export async function runClusterSections(wanted: Set<string>): Promise<Sections> {
  const out: Sections = {};
  const opts: E2eOptions = {
    command: "run",
    provider: (process.env.MLFLOW_K8S_PROVIDER as E2eOptions["provider"]) ?? "kind",
    access: "nodeport",
    services: "host",
    keep: false,
    timeoutSeconds: 600,
    namespace: "mlflow-bench",
    release: "mlflow",
    artifactsDir: "artifacts/bench",
    skip: [],
  };
  if (wanted.has("kind")) out.kind = await kindSection();
  if (wanted.has("minikube")) out.minikube = await minikubeSection();
  if (![...wanted].some((n) => n !== "kind" && n !== "minikube")) return out;
  const ctx: Ctx = { opts, log, workDir: mkdtempSync(join(tmpdir(), "mlflow-bench-")), dbPassword: newPassword() };
  await preflight(ctx);
  const provider = need(ctx, "provider", "preflight");
  try {
    if (wanted.has("image")) out.image = await buildImages(provider, log);
    if (!["install", "peers", "scaling"].some((n) => wanted.has(n))) return out;
    await clusterUp(ctx);
    // Build images/mlflow with the e2e's own phase, but leave loading it to the install timing
    // (kind: pushed to the registry now; the cold install pulls it).
    if (!(provider instanceof KindProvider)) ctx.provider = Object.create(provider, { loadImage: { value: async (ref: string) => ref } }) as ClusterProvider;
    await imagePhase(ctx);
    ctx.provider = provider;
    await dependencies(ctx);
    await valuesPhase(ctx);
    ctx.opts.values = join(ctx.workDir, "chart-defaults.yaml");
    const cluster = need(ctx, "cluster", "cluster");
    const nodePort = cluster.nodePorts?.[0] ?? NODE_PORT;
    chartDefaultsOverride(ctx.opts.values, nodePort);
    const host = nodeAddress((await need(ctx, "kube", "cluster").core.listNode()).items, cluster.nodePortHost);
    const s: Session = { ctx, provider, baseUrl: `http://${host}:${nodePort}`, release: async () => undefined, dbCount: 0 };
    if (wanted.has("install")) out.install = await installSection(s);
    else {
      if (!(provider instanceof KindProvider)) await provider.loadImage(need(ctx, "image", "image"));
      await timedInstall(s, await freshDatabase(s));
    }
    if (wanted.has("peers")) out.peers = await peersSection(s);
    if (wanted.has("scaling")) out.scaling = await scalingSection(s);
    return out;
  } finally {
    if (ctx.tools && ctx.kube) await removeRelease(ctx.tools, ctx.kube, opts.namespace, opts.release);
    await ctx.db?.destroy().catch(() => undefined);
    await ctx.gcs?.destroy().catch(() => undefined);
    await stopAllProcesses();
    await provider.down();
    log(`cluster (${provider.name}) down`);
  }
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const wanted = new Set((arg("--sections") ?? "install,peers,scaling,image").split(","));
  const outFile = arg("--out");
  if (!outFile) {
    process.stderr.write("usage: cluster.ts --sections a,b --out file.json\n");
    process.exit(2);
  }
  const sections = await runClusterSections(wanted);
  writeFileSync(outFile, JSON.stringify(sections, null, 2));
}
