/**
 * `./dev up` / `./dev down` (or `pnpm dev:up` / `pnpm dev:down`: pnpm's built-in `up` is its
 * update command, so no script may be called that): the development loop. `up` runs the e2e's first seven
 * phases with embedded defaults and leaves everything running, with the host
 * services in a detached process; `down` removes exactly what `up` recorded.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { isProviderName, kubeClients, selectProvider, waitFor } from "@mlflow-k8s/cluster";
import type { E2eOptions } from "./args.ts";
import type { Ctx, TestBucket, TestDatabase } from "./context.ts";
import { clusterUp, preflight } from "./phases/cluster.ts";
import { newPassword } from "./phases/dependencies.ts";
import { image } from "./phases/image.ts";
import { chart, discover, install, values } from "./phases/install.ts";
import { removeRelease } from "./phases/lifecycle.ts";
import { runPhases, summary } from "./runner.ts";
import { toolsFor } from "./tools.ts";

const log = (line: string) => process.stderr.write(`[up] ${line}\n`);
const STATE_DIR = join(process.env.MLFLOW_K8S_CACHE ?? join(homedir(), ".cache", "mlflow-k8s"), "dev");
const STATE = join(STATE_DIR, "up.json");
const SERVICES = join(STATE_DIR, "services.json");

interface UpState {
  provider: string;
  namespace: string;
  release: string;
  kubeconfig?: string;
  context?: string;
  url?: string;
}

/** Start the detached services process and wait for its state file. */
async function startServices(ctx: Ctx): Promise<void> {
  const host = ctx.cluster?.hostAddressForPods;
  if (!host) throw new Error(`provider ${ctx.provider?.name} does not say which host address its pods reach`);
  rmSync(SERVICES, { force: true });
  const logFd = openSync(join(STATE_DIR, "services.log"), "w");
  const child = spawn(process.execPath, [new URL("./services.ts", import.meta.url).pathname, SERVICES, host], {
    detached: true,
    stdio: ["pipe", logFd, logFd],
  });
  child.stdin?.end(ctx.dbPassword);
  child.unref();
  const state = await waitFor(`PostgreSQL and the GCS emulator (services process; log ${join(STATE_DIR, "services.log")})`, 120_000, async () =>
    existsSync(SERVICES) ? (JSON.parse(readFileSync(SERVICES, "utf8")) as { db: { host: string; port: number }; gcs: { url: string } }) : undefined,
  );
  // The phases only need the addresses; these objects are handles without processes.
  ctx.db = { connection: { ...state.db, database: "mlflow", user: "mlflow", password: ctx.dbPassword } } as unknown as TestDatabase;
  ctx.gcs = { url: state.gcs.url } as unknown as TestBucket;
  log(`  PostgreSQL ${state.db.host}:${state.db.port} and GCS emulator ${state.gcs.url} (pid ${child.pid})`);
}

export async function up(opts: E2eOptions): Promise<number> {
  mkdirSync(STATE_DIR, { recursive: true });
  if (existsSync(STATE)) {
    const s = JSON.parse(readFileSync(STATE, "utf8")) as UpState;
    log(`already up: ${s.url ?? "(incomplete)"}; run \`./dev down\` first to start over`);
    return s.url ? 0 : 1;
  }
  const ctx: Ctx = { opts, log, workDir: mkdtempSync(join(tmpdir(), "mlflow-up-")), dbPassword: newPassword() };
  const save = () =>
    writeFileSync(STATE, JSON.stringify({ provider: ctx.provider?.name, namespace: opts.namespace, release: opts.release, kubeconfig: ctx.cluster?.kubeconfig, context: ctx.cluster?.context, url: ctx.url }, null, 2));
  const results = await runPhases(
    [
      { name: "preflight", does: "check the tools", run: preflight },
      { name: "cluster", does: "bring up the cluster", run: async (c) => { await clusterUp(c); save(); } },
      { name: "image", does: "build and load the MLflow image", run: image },
      { name: "chart", does: "push the chart to the cluster's registry (kind)", run: chart },
      { name: "dependencies", does: "start PostgreSQL and the GCS emulator (detached)", run: startServices },
      { name: "values", does: "generate values; create the DB Secret", run: values },
      { name: "install", does: "helm install --wait", run: install },
      { name: "discover", does: "find the NodePort URL", run: async (c) => { await discover(c); save(); } },
    ],
    ctx,
    log,
  );
  log(`summary:\n${summary(results)}`);
  if (results.some((r) => r.status !== "passed")) {
    log("up failed; `./dev down` removes what was made");
    return 1;
  }
  process.stdout.write(`MLflow is running at ${ctx.url}\nkubectl: KUBECONFIG=${ctx.cluster?.kubeconfig} kubectl -n ${opts.namespace} get pods\nStop it with: ./dev down\n`);
  return 0;
}

export async function down(opts: E2eOptions): Promise<number> {
  const state: UpState | undefined = existsSync(STATE) ? JSON.parse(readFileSync(STATE, "utf8")) : undefined;
  if (state?.kubeconfig && state.context) {
    const cluster = { kubeconfig: state.kubeconfig, context: state.context };
    await removeRelease(toolsFor(cluster), kubeClients(cluster), state.namespace, state.release);
    log(`release ${state.release} and namespace ${state.namespace} removed`);
  }
  if (existsSync(SERVICES)) {
    const { pid } = JSON.parse(readFileSync(SERVICES, "utf8")) as { pid: number };
    try {
      process.kill(pid, "SIGTERM");
      await waitFor(`services process ${pid} to exit`, 60_000, async () => {
        try {
          process.kill(pid, 0);
          return undefined;
        } catch {
          return true;
        }
      });
      log(`PostgreSQL and the GCS emulator stopped (pid ${pid})`);
    } catch {
      log(`services process ${pid} was not running`);
    }
    rmSync(SERVICES, { force: true });
  }
  const name = opts.provider ?? state?.provider;
  if (name && isProviderName(name)) {
    const provider = await selectProvider(name).catch(() => undefined);
    await provider?.down();
    log(`cluster (${name}) down`);
  }
  rmSync(STATE, { force: true });
  return 0;
}
