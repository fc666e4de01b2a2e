#!/usr/bin/env node
/**
 * The cluster-side figures, in one session on one cluster: the image sizes, the time from
 * `helm install` to the first REST call (cold and warm image), throughput against a plain
 * `mlflow server`, and scaling with workers and replicas. It reuses the e2e's phases
 * (preflight, cluster, image, dependencies, values) and tears everything down at the end.
 * main.ts runs this file under the cluster lock (flock), so the lock is held only while the
 * kind cluster or the project's dockerd is in use.
 * Usage: node bench/src/cluster.ts --sections kind,install,throughput,scaling,image --out file.json
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
import { serverPods } from "../../e2e/src/kube.ts";
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
import { startPlainServer } from "./plain.ts";
import type { Endpoint, InstallData, InstallTime, ScalingData, Section, Sections, ThroughputData } from "./results.ts";
import { podMemoryBytes, type StatsSummary } from "./kubelet.ts";

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
    if (provider instanceof KindProvider) {
      await evictFromKindNode(provider, ref);
      data.cold = await timedInstall(s, await freshDatabase(s));
      notes.push(`Cold (kind): the image removed from the node's containerd first, so the pods pull \`${ref}\` from the local registry; the pull is inside the time to the first REST call.`);
      await uninstall(s);
    } else {
      await provider.loadImage(ref);
      notes.push(`Cold: not measured with provider ${provider.name} (the bench evicts images from kind's node only).`);
    }
    data.warm = await timedInstall(s, await freshDatabase(s));
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

async function throughputSection(s: Session): Promise<Section<ThroughputData>> {
  const started = performance.now();
  const chart = YAML.parse(readFileSync(join(CHART, "values.yaml"), "utf8")) as { replicaCount: number; server: { workers: number }; resources: { requests: { cpu: string; memory: string }; limits: { memory: string } } };
  const data: ThroughputData = {
    connections: LOAD.connections,
    durationSeconds: LOAD.durationSeconds,
    targets: {
      chart: `the chart's defaults (${chart.replicaCount} replica, ${chart.server.workers} workers, requests ${chart.resources.requests.cpu} CPU / ${chart.resources.requests.memory}, limit ${chart.resources.limits.memory}), PostgreSQL 15 on the host, GCS emulator for artifacts, through the NodePort (kube-proxy iptables) on 127.0.0.1`,
      plain: "",
    },
    runs: [],
  };
  const notes = [
    `log-batch: ${10} metrics per request, a new step each time. get-run: one run with 10 params and 10 metrics.`,
    "Both servers share the machine's 2 cores with autocannon itself, so absolute figures are low; the ratio is the figure.",
  ];
  let plain: Awaited<ReturnType<typeof startPlainServer>> | undefined;
  try {
    plain = await startPlainServer(log);
    data.targets.plain = `\`${plain.command}\` from the project's venv (MLflow's defaults: 4 workers, SQLite and ./mlartifacts in its working directory), on 127.0.0.1`;
    const ids = { chart: await seedRun(s.baseUrl), plain: await seedRun(plain.url) };
    for (const endpoint of ["get-run", "log-batch"] as const) {
      for (const target of ["chart", "plain"] as const) {
        const url = target === "chart" ? s.baseUrl : plain.url;
        data.runs.push({ target, endpoint, ...(await measure(url, endpoint, ids[target])) });
      }
    }
    return section(started, data, notes);
  } catch (e) {
    return section(started, data, notes, message(e));
  } finally {
    await plain?.stop();
  }
}

async function statsSummary(s: Session): Promise<StatsSummary> {
  const kube = need(s.ctx, "kube", "cluster");
  const [node] = (await kube.core.listNode()).items;
  const r = await need(s.ctx, "tools", "cluster").kubectl(["get", "--raw", `/api/v1/nodes/${node?.metadata?.name}/proxy/stats/summary`]);
  return JSON.parse(r.stdout) as StatsSummary;
}

async function scalingSection(s: Session): Promise<Section<ScalingData>> {
  const started = performance.now();
  const { ctx } = s;
  const data: ScalingData = { connections: LOAD.connections, durationSeconds: LOAD.durationSeconds, endpoint: "get-run", rows: [] };
  const notes = [
    "Each row: `helm upgrade --wait` with replicaCount and server.workers set, wait until exactly that many pods are Ready and none is terminating, a 2 s warm-up, then the measured run.",
    "Memory: the pod's working set from the kubelet's /stats/summary (through the API server's node proxy), read right after the measured run.",
    "Every pod shares the machine's cores with the load generator, PostgreSQL and the control plane: past the point where they are saturated, more workers or pods only add memory and contention.",
    "One 10 s run per row: the throughput section's chart-default run has the same shape as the 1 replica × 2 workers row here, and the difference between the two is the run-to-run spread.",
  ];
  try {
    const dbName = `bench${s.dbCount}`;
    const runId = await seedRun(s.baseUrl);
    for (const shape of SCALING) {
      await need(ctx, "tools", "cluster").helm([
        "upgrade", ctx.opts.release, CHART, "-n", ctx.opts.namespace, ...helmValuesArgs(ctx), "--set-string", `database.name=${dbName}`,
        "--set", `replicaCount=${shape.replicas}`, "--set", `server.workers=${shape.workers}`, "--wait", "--timeout", `${ctx.opts.timeoutSeconds}s`,
      ]);
      const pods = await waitFor(`${shape.replicas} Ready pod(s) and none terminating`, ctx.opts.timeoutSeconds * 1000, async () => {
        const all = await serverPods(need(ctx, "kube", "cluster"), ctx.opts.namespace, ctx.opts.release);
        const ready = all.filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
        return all.length === shape.replicas && ready.length === shape.replicas ? ready : undefined;
      }, 1000);
      log(`  ${shape.replicas} replica(s) x ${shape.workers} worker(s): ${pods.map((p) => p.metadata?.name).join(", ")}`);
      const r = await measure(s.baseUrl, "get-run", runId);
      const names = pods.map((p) => p.metadata?.name ?? "");
      const memory = podMemoryBytes(await statsSummary(s), ctx.opts.namespace, names);
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
    if (!["install", "throughput", "scaling"].some((n) => wanted.has(n))) return out;
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
    if (wanted.has("throughput")) out.throughput = await throughputSection(s);
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
  const wanted = new Set((arg("--sections") ?? "install,throughput,scaling,image").split(","));
  const outFile = arg("--out");
  if (!outFile) {
    process.stderr.write("usage: cluster.ts --sections a,b --out file.json\n");
    process.exit(2);
  }
  const sections = await runClusterSections(wanted);
  writeFileSync(outFile, JSON.stringify(sections, null, 2));
}
