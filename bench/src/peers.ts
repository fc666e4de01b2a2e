/**
 * Fair peers: three MLflow servers on the same kind cluster, the same durable PostgreSQL
 * (fsync and synchronous commit on, as Cloud SQL runs), the same GCS emulator, the same pod
 * CPU and memory limits (the CPU each may use is capped alike), measured in interleaved rounds:
 *   chart            this chart's defaults (helm install; only database, bucket and resources set)
 *   mlflow-defaults  our image running plain `mlflow server` as the community chart runs it:
 *                    MLflow's default server and workers, no tuning
 *   official-recipe  MLflow's official recipe, `pip install mlflow==<same version>` on the same
 *                    base (bench/images/mlflow-official), plus the PostgreSQL and GCS drivers its
 *                    users must add, running the same plain command
 * Then the chart's knobs, each varied alone. Every target is a NodePort of the project's own
 * cluster; the database URI reaches the plain peers only through a Secret (env), never argv.
 */
import { join } from "node:path";
import type { ClusterProvider } from "@mlflow-k8s/cluster";
import { MlflowClient, artifactRootPath } from "@mlflow-k8s/mlflow-client";
import { ensurePythonVenv, startPostgres, type PostgresServer } from "@mlflow-k8s/testbed";
import { $ } from "zx";
import { buildChartValues, parseGeneratorInput, renderValuesFile } from "@mlflow-k8s/values";
import { writeFileSync } from "node:fs";
import YAML from "yaml";
import { BUCKET, need, type Ctx } from "../../e2e/src/context.ts";
import { applySecret, findService, nodePortEndpoint, serverSelector, waitForExactlyReady } from "../../e2e/src/kube.ts";
import { CHART } from "../../e2e/src/phases/install.ts";
import { OFFICIAL_IMAGE } from "./image.ts";
import { trustHostCaBundle } from "../../e2e/src/phases/image.ts";
import { podMemoryBytes, readStatsSummary } from "./kubelet.ts";
import { ARTIFACT_BYTES, SEEDED_ARTIFACT, runLoad, type LoadTarget } from "./loadgen.ts";
import { PEER_ORDER, type KnobRun, type PeerName, type PeerRun, type PeersData } from "./peers-report.ts";
import type { Endpoint, LoadFigures } from "./results.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/**
 * MLFLOW_K8S_BENCH_QUICK=1: one short round of everything, to try the section end to end; the
 * table states the rounds and seconds it ran with, so a quick run never passes for a real one.
 */
export const PEERS_SETTINGS = process.env.MLFLOW_K8S_BENCH_QUICK === "1"
  ? { rounds: 1, knobRounds: 1, connections: 8, durationSeconds: 3, warmupSeconds: 1, startWarmupSeconds: 3, seededRuns: 200 }
  : { rounds: 5, knobRounds: 3, connections: 8, durationSeconds: 10, warmupSeconds: 2, startWarmupSeconds: 10, seededRuns: 3000 };
export const PEER_ENDPOINTS: Endpoint[] = ["log-batch", "get-run", "search-runs", "artifact-put", "artifact-get"];
const KNOB_ENDPOINTS: Endpoint[] = ["log-batch", "get-run", "search-runs"];
/**
 * The same cap for every peer: 1 CPU and 4 GiB. 4 GiB because the official recipe at MLflow's
 * defaults (4 workers plus its job runner) was OOM-killed at 2 GiB; each peer's working set is
 * recorded, so what it needs is reported rather than capped away. CPU requests stay small:
 * a 1-CPU request each would not fit three peers, the control plane and the bench's own
 * release on a 2-core node (the scheduler would leave a peer Pending); the limit bounds each.
 */
export const POD_RESOURCES = { requests: { cpu: "100m", memory: "4Gi" }, limits: { cpu: "1", memory: "4Gi" } };
const DB_OF: Record<PeerName, string> = { chart: "peers_chart", "mlflow-defaults": "peers_defaults", "official-recipe": "peers_official" };
const RELEASE = "peer-chart";
const plainPeerSecret = (name: PeerName) => `peer-${name}-db`;
const PLAIN_ARGS = (destination: string) => ["server", "--host", "0.0.0.0", "--port", "5000", "--artifacts-destination", destination];
/** The server knob, tried on the plain peer: MLflow refuses gunicorn beside the chart's --allowed-hosts, so the chart cannot run it. */
const SERVER_VARIANTS = [
  { value: "uvicorn (MLflow's default), `--workers 2`", args: ["--workers", "2"] },
  { value: "gunicorn, `--workers 2 --gunicorn-opts ''`", args: ["--workers", "2", "--gunicorn-opts", ""] },
];

type Log = (line: string) => void;

interface Peer {
  name: PeerName;
  url: string;
  selector: string;
}

/** A Deployment + NodePort Service running `mlflow server` with MLflow's defaults, the URI from a Secret. */
function plainPeerManifests(name: string, namespace: string, image: string, secret: string, emulator: string, destination: string, extraArgs: string[] = []): object[] {
  const labels = { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "mlflow-k8s-bench" };
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "mlflow",
                image,
                command: ["mlflow"],
                args: [...PLAIN_ARGS(destination), ...extraArgs],
                env: [
                  { name: "MLFLOW_BACKEND_STORE_URI", valueFrom: { secretKeyRef: { name: secret, key: "uri" } } },
                  { name: "STORAGE_EMULATOR_HOST", value: emulator },
                  { name: "HOME", value: "/tmp" },
                  { name: "MLFLOW_DISABLE_TELEMETRY", value: "true" },
                ],
                ports: [{ containerPort: 5000, name: "http" }],
                readinessProbe: { httpGet: { path: "/health", port: 5000 }, periodSeconds: 2 },
                resources: POD_RESOURCES,
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
              },
            ],
          },
        },
      },
    },
    { apiVersion: "v1", kind: "Service", metadata: { name, namespace, labels }, spec: { type: "NodePort", selector: labels, ports: [{ name: "http", port: 5000, targetPort: 5000 }] } },
  ];
}

/** The pods' working set (kubelet /stats/summary) right after a run. */
async function podsMemory(ctx: Ctx, labelSelector: string): Promise<number[]> {
  const pods = await need(ctx, "kube", "cluster").core.listNamespacedPod({ namespace: ctx.opts.namespace, labelSelector });
  return podMemoryBytes(await readStatsSummary(ctx), ctx.opts.namespace, pods.items.map((p) => p.metadata?.name ?? ""));
}

/** Container restarts since the peer started, and why the last one ended (OOMKilled, Error). */
async function podRestarts(ctx: Ctx, labelSelector: string): Promise<{ count: number; reasons: string[] }> {
  const pods = await need(ctx, "kube", "cluster").core.listNamespacedPod({ namespace: ctx.opts.namespace, labelSelector });
  const statuses = pods.items.flatMap((p) => p.status?.containerStatuses ?? []);
  return {
    count: statuses.reduce((n, c) => n + c.restartCount, 0),
    reasons: statuses.flatMap((c) => (c.lastState?.terminated?.reason ? [c.lastState.terminated.reason] : [])),
  };
}

const waitPods = (ctx: Ctx, labelSelector: string, count: number) =>
  waitForExactlyReady(need(ctx, "kube", "cluster"), { namespace: ctx.opts.namespace, labelSelector, count, timeoutMs: ctx.opts.timeoutSeconds * 1000 });

/** A peer's URL: its Service's NodePort on the node's address (the peers' NodePorts are not published on 127.0.0.1). */
async function nodePortUrl(ctx: Ctx, service: string): Promise<string> {
  const kube = need(ctx, "kube", "cluster");
  return (await nodePortEndpoint(kube, await kube.core.readNamespacedService({ name: service, namespace: ctx.opts.namespace }))).url;
}

/** The chart with its defaults: only what must be said (database, bucket, image) and the shared resources. */
function chartPeerValues(ctx: Ctx, db: PostgresServer, image: string, extraEnv: { name: string; value: string }[] = []): string {
  const at = image.lastIndexOf(":");
  const { values } = buildChartValues(
    parseGeneratorInput({
      gcsUri: `gs://${BUCKET}/peers`,
      dbHost: db.host,
      dbPort: db.port,
      dbName: DB_OF.chart,
      dbUser: "mlflow",
      dbSslmode: "disable",
      passwordFrom: `secret:${RELEASE}-db:password`,
      release: RELEASE,
      gcsEmulatorHost: need(ctx, "gcs", "dependencies").url,
      imageRepository: image.slice(0, at),
      imageTag: image.slice(at + 1),
      imagePullPolicy: "IfNotPresent",
    }),
  );
  values.resources = POD_RESOURCES;
  if (extraEnv.length) values.server = { ...values.server, extraEnv };
  const file = join(ctx.workDir, "peer-chart-values.yaml");
  writeFileSync(file, renderValuesFile(values));
  return file;
}

/** 3000 runs in one experiment (a param `group` 0-9 and a `loss` metric each), one run with 10 params and 10 metrics, and a 1 MiB artifact. */
async function seed(url: string, n: number, log: Log): Promise<LoadTarget> {
  const client = new MlflowClient({ baseUrl: url, retries: 4, timeoutMs: 20_000 });
  const experimentId = await client.createExperiment(`peers-${Date.now()}`);
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const run = await client.createRun({ experimentId, runName: `seed-${i}` });
      await client.logBatch(run.info.run_id, { params: [{ key: "group", value: String(i % 10) }], metrics: [{ key: "loss", value: (i % 100) / 100, timestamp: Date.now(), step: 0 }] });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const target = await client.createRun({ experimentId, runName: "bench" });
  await client.logBatch(target.info.run_id, {
    params: Array.from({ length: 10 }, (_, i) => ({ key: `p${i}`, value: String(i) })),
    metrics: Array.from({ length: 10 }, (_, i) => ({ key: `m${i}`, value: i, timestamp: Date.now(), step: 0 })),
  });
  await client.uploadArtifact(target.info, SEEDED_ARTIFACT, new Uint8Array(ARTIFACT_BYTES).fill(7), "application/octet-stream");
  log(`  seeded ${n} runs + the bench run and a 1 MiB artifact in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return { runId: target.info.run_id, experimentId, artifactRoot: artifactRootPath(target.info) };
}

/**
 * A discarded pass over the endpoints once a server is Ready: the readiness probe passes when one
 * worker answers, while the others (4 under a 1-CPU cap) may still be importing MLflow, and every
 * worker loads modules on its first requests; without this the first round measures start-up.
 */
async function warmUp(url: string, endpoints: Endpoint[], target: LoadTarget, label: string, log: Log): Promise<void> {
  const figures: string[] = [];
  for (const endpoint of endpoints) {
    const r = await runLoad({ baseUrl: url, endpoint, ...target, uploadPrefix: `${label}-start`, connections: PEERS_SETTINGS.connections, durationSeconds: PEERS_SETTINGS.startWarmupSeconds, maxRequests: 50_000 });
    figures.push(`${endpoint} ${r.rps.toFixed(1)}`);
  }
  log(`  ${label} warmed up (${PEERS_SETTINGS.startWarmupSeconds} s per endpoint, discarded; req/s ${figures.join(", ")})`);
}

async function run(url: string, endpoint: Endpoint, target: LoadTarget, uploadPrefix: string): Promise<LoadFigures> {
  const spec = { baseUrl: url, endpoint, ...target, uploadPrefix, connections: PEERS_SETTINGS.connections };
  await runLoad({ ...spec, uploadPrefix: `${uploadPrefix}-warm`, durationSeconds: PEERS_SETTINGS.warmupSeconds, maxRequests: 20_000 });
  return runLoad({ ...spec, durationSeconds: PEERS_SETTINGS.durationSeconds });
}

/** The official recipe (bench/images/mlflow-official) plus psycopg2 and google-cloud-storage, as its users must add them. */
export const OFFICIAL_GCP_IMAGE = `${OFFICIAL_IMAGE.replace("mlflow-official", "mlflow-official-gcp")}`;

async function officialWithDrivers(provider: ClusterProvider): Promise<string> {
  if (!provider.buildImage) throw new Error(`provider ${provider.name} cannot build ${OFFICIAL_GCP_IMAGE}`);
  for (const dir of ["bench/images/mlflow-official", "bench/images/mlflow-official-gcp"]) trustHostCaBundle(join(ROOT, dir));
  await provider.buildImage({ context: join(ROOT, "bench/images/mlflow-official"), tag: OFFICIAL_IMAGE });
  await provider.buildImage({ context: join(ROOT, "bench/images/mlflow-official-gcp"), tag: OFFICIAL_GCP_IMAGE, buildArgs: { OFFICIAL_IMAGE } });
  return provider.loadImage(OFFICIAL_GCP_IMAGE);
}

/** bench/scripts/log_batch_limit.py against a database of its own on the same PostgreSQL. */
async function sqlLimit(db: PostgresServer, password: string, log: Log): Promise<NonNullable<PeersData["limit"]>> {
  await db.sql("CREATE DATABASE peers_limit OWNER mlflow");
  const python = await ensurePythonVenv();
  const uri = `postgresql+psycopg2://mlflow:${encodeURIComponent(password)}@${db.host}:${db.port}/peers_limit`;
  const args = ["--connections", String(PEERS_SETTINGS.connections), "--seconds", String(PEERS_SETTINGS.durationSeconds), "--repeats", String(PEERS_SETTINGS.rounds)];
  const r = await $({ quiet: true, env: { ...process.env, MLFLOW_BENCH_DB_URI: uri } })`${python} ${join(ROOT, "bench/scripts/log_batch_limit.py")} ${args}`;
  const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { statements: string[]; batchesPerSecond: number[]; errors: number };
  log(`  log-batch SQL replayed over ${PEERS_SETTINGS.connections} connections: ${out.batchesPerSecond.map((x) => x.toFixed(1)).join(", ")} batches/s (${out.statements.length} statements each, ${out.errors} errors)`);
  return { connections: PEERS_SETTINGS.connections, ...out };
}

export async function measurePeers(ctx: Ctx, provider: ClusterProvider, log: Log): Promise<PeersData> {
  const tools = need(ctx, "tools", "cluster");
  const kube = need(ctx, "kube", "cluster");
  const ns = ctx.opts.namespace;
  const cluster = need(ctx, "cluster", "cluster");
  const host = cluster.hostAddressForPods;
  if (!host) throw new Error(`provider ${provider.name} names no address pods reach for the durable PostgreSQL`);
  const ours = need(ctx, "image", "image");
  const official = await officialWithDrivers(provider);
  const db = await startPostgres({ host, durable: true, database: DB_OF.chart, user: "mlflow", password: ctx.dbPassword });
  const emulator = need(ctx, "gcs", "dependencies").url;
  const destination = `gs://${BUCKET}/peers`;
  const data: PeersData = {
    ...PEERS_SETTINGS,
    peers: {
      chart: `this chart's defaults (\`helm install\`; database, bucket, image and the resources below set, nothing else): \`mlflow-entrypoint server\` → MLflow's uvicorn with 2 workers, image \`${ours}\``,
      "mlflow-defaults": `\`mlflow ${PLAIN_ARGS(destination).join(" ")}\` in image \`${ours}\`, the URI in MLFLOW_BACKEND_STORE_URI from a Secret: MLflow's defaults (uvicorn, 4 workers), as the community chart runs it`,
      "official-recipe": `the same command in \`${official}\`: MLflow's official recipe (bench/images/mlflow-official, \`pip install mlflow==${OFFICIAL_IMAGE.split(":")[1]}\` on the same Debian base) plus \`pip install psycopg2-binary google-cloud-storage\` (unpinned), which its users must add for Cloud SQL and GCS`,
    },
    resources: `limits ${POD_RESOURCES.limits.cpu} CPU, ${POD_RESOURCES.limits.memory} memory (requests ${POD_RESOURCES.requests.cpu} CPU, ${POD_RESOURCES.requests.memory}), 1 pod`,
    postgres: "PostgreSQL 15 on the host, as production runs it: fsync, synchronous_commit and full_page_writes on (PostgreSQL's defaults)",
    runs: [],
    knobs: [],
    memoryBytes: {},
    restarts: {},
  };
  const cleanup: (() => Promise<unknown>)[] = [() => db.destroy()];
  try {
    // The chart peer first: it migrates the schema (its hook Job) and takes the seed.
    await applySecret(kube, ns, `${RELEASE}-db`, { password: ctx.dbPassword });
    const chartValues = chartPeerValues(ctx, db, ours);
    await tools.helm(["install", RELEASE, CHART, "-n", ns, "-f", chartValues, "--wait", "--timeout", `${ctx.opts.timeoutSeconds}s`]);
    cleanup.push(() => tools.helm(["uninstall", RELEASE, "-n", ns, "--wait", "--ignore-not-found"]).nothrow());
    const chartSelector = serverSelector(RELEASE);
    const chartUrl = (await nodePortEndpoint(kube, await findService(kube, ns, RELEASE))).url;
    const target = await seed(chartUrl, PEERS_SETTINGS.seededRuns, log);
    // The same data for every peer: clone the seeded database while nothing is connected to it.
    const chartDeployment = ["deployment", "-l", `app.kubernetes.io/instance=${RELEASE}`, "-n", ns];
    await tools.kubectl(["scale", ...chartDeployment, "--replicas=0"]);
    await waitPods(ctx, chartSelector, 0);
    for (const p of ["mlflow-defaults", "official-recipe"] as const) await db.sql(`CREATE DATABASE ${DB_OF[p]} TEMPLATE ${DB_OF.chart} OWNER mlflow`);
    await tools.kubectl(["scale", ...chartDeployment, "--replicas=1"]);
    await waitPods(ctx, chartSelector, 1);

    const peers: Peer[] = [{ name: "chart", url: chartUrl, selector: chartSelector }];
    cleanup.push(() => tools.kubectl(["delete", "deployment,service", "-n", ns, "-l", "app.kubernetes.io/part-of=mlflow-k8s-bench", "--ignore-not-found", "--wait"]).nothrow());
    for (const [name, image] of [["mlflow-defaults", ours], ["official-recipe", official]] as const) {
      const secret = plainPeerSecret(name);
      const uri = `postgresql+psycopg2://mlflow:${encodeURIComponent(ctx.dbPassword)}@${db.host}:${db.port}/${DB_OF[name]}?sslmode=disable`;
      await applySecret(kube, ns, secret, { uri });
      await tools.kubectl(["apply", "-f", "-"], plainPeerManifests(`peer-${name}`, ns, image, secret, emulator, destination).map((m) => YAML.stringify(m)).join("---\n"));
      cleanup.push(() => kube.core.deleteNamespacedSecret({ name: secret, namespace: ns }).catch(() => undefined));
      const selector = `app.kubernetes.io/name=peer-${name}`;
      await waitPods(ctx, selector, 1);
      peers.push({ name, url: await nodePortUrl(ctx, `peer-${name}`), selector });
    }
    log(`  peers: ${peers.map((p) => `${p.name} ${p.url}`).join(", ")}`);
    for (const p of peers) await warmUp(p.url, PEER_ENDPOINTS, target, p.name, log);

    for (let round = 1; round <= PEERS_SETTINGS.rounds; round++) {
      const order = PEER_ORDER.map((_, i) => PEER_ORDER[(i + round - 1) % PEER_ORDER.length] as PeerName);
      for (const endpoint of PEER_ENDPOINTS) {
        for (const name of order) {
          const peer = peers.find((p) => p.name === name) as Peer;
          const r = await run(peer.url, endpoint, target, `${name}-r${round}`);
          log(`  round ${round} ${endpoint} ${name}: ${r.rps.toFixed(1)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.errors + r.non2xx} errors/non-2xx`);
          data.runs.push({ peer: name, endpoint, round, ...r } satisfies PeerRun);
          (data.memoryBytes[name] ??= []).push(...(await podsMemory(ctx, peer.selector)));
        }
      }
    }
    for (const p of peers) data.restarts[p.name] = await podRestarts(ctx, p.selector);
    log(`  working set and restarts: ${peers.map((p) => `${p.name} max ${(Math.max(...(data.memoryBytes[p.name] ?? [0])) / 2 ** 20).toFixed(0)} MiB, ${data.restarts[p.name]?.count} restarts ${data.restarts[p.name]?.reasons.join(" ")}`).join("; ")}`);

    data.limit = await sqlLimit(db, ctx.dbPassword, log);

    // The chart's knobs, one at a time, from its defaults.
    const variants: { knob: string; value: string; set: string[]; env?: { name: string; value: string }[] }[] = [
      { knob: "server.workers", value: "1", set: ["--set", "server.workers=1"] },
      { knob: "server.workers", value: "2 (default)", set: [] },
      { knob: "server.workers", value: "4", set: ["--set", "server.workers=4"] },
      { knob: "SQLAlchemy pool", value: "NullPool (a connection per request)", set: [], env: [{ name: "MLFLOW_SQLALCHEMYSTORE_POOLCLASS", value: "NullPool" }] },
      { knob: "SQLAlchemy pool", value: "QueuePool 2 + overflow 0", set: [], env: [{ name: "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE", value: "2" }, { name: "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW", value: "0" }] },
    ];
    const measureKnob = async (knob: string, value: string, url: string) => {
      await warmUp(url, KNOB_ENDPOINTS, target, `${knob}=${value}`, log);
      for (let round = 1; round <= PEERS_SETTINGS.knobRounds; round++) {
        for (const endpoint of KNOB_ENDPOINTS) {
          const r = await run(url, endpoint, target, `knob-${round}`);
          log(`  ${knob}=${value} round ${round} ${endpoint}: ${r.rps.toFixed(1)} req/s, p99 ${r.p99Ms} ms`);
          data.knobs.push({ knob, value, endpoint, round, ...r } satisfies KnobRun);
        }
      }
    };
    for (const v of variants) {
      await tools.helm(["upgrade", RELEASE, CHART, "-n", ns, "-f", chartPeerValues(ctx, db, ours, v.env), ...v.set, "--wait", "--timeout", `${ctx.opts.timeoutSeconds}s`]);
      await waitPods(ctx, chartSelector, 1);
      await measureKnob(v.knob, v.value, chartUrl);
    }
    // The server knob on the plain peer (same image, database and resources), after the chart's are done.
    const plain = peers.find((p) => p.name === "mlflow-defaults") as Peer;
    for (const v of SERVER_VARIANTS) {
      const manifests = plainPeerManifests("peer-mlflow-defaults", ns, ours, plainPeerSecret("mlflow-defaults"), emulator, destination, v.args);
      await tools.kubectl(["apply", "-f", "-"], manifests.map((m) => YAML.stringify(m)).join("---\n"));
      await tools.kubectl(["rollout", "status", "deployment/peer-mlflow-defaults", "-n", ns, `--timeout=${ctx.opts.timeoutSeconds}s`]);
      await waitPods(ctx, plain.selector, 1);
      await measureKnob("server (plain `mlflow server`)", v.value, plain.url);
    }
    return data;
  } finally {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  }
}
