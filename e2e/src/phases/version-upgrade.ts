/**
 * The upgrade users actually do: `helm upgrade` from the previous MLflow image
 * (images/mlflow/requirements-previous.txt) to the current one, so the pre-upgrade
 * migration Job changes the schema under live data, while MLflow's own Python client
 * (pooled keep-alive connections, retries off, so a reset connection is a failed request)
 * writes runs, params, metrics and artifacts and reads them back throughout, beside
 * pingers whose connections sit idle a few milliseconds at a time. A second release, in the e2e namespace,
 * with its own database and the password given as database.password: the
 * chart-created-Secret path, searched for the password like the main release.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ensurePythonVenv } from "@mlflow-k8s/testbed";
import { MlflowClient } from "@mlflow-k8s/mlflow-client";
import { strict as assert } from "node:assert";
import { need, type Ctx } from "../context.ts";
import { serverPods, waitForReadyPods } from "../kube.ts";
import { captureMigrationJob } from "../migration-job.ts";
import { assertPasswordNowhere, namespacePlaces } from "../password-search.ts";
import { appVersion, trustHostCaBundle } from "./image.ts";
import { CHART, sideReleaseUrl } from "./install.ts";
import { sideRelease } from "./side-release.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const LOAD_SCRIPT = `${ROOT}e2e/scripts/upgrade_load.py`;
const MIN_REQUESTS = 2000;

/** The MLflow version pinned in requirements-previous.in. */
export function previousVersion(): string {
  const pin = /^mlflow(?:\[[^\]]*\])?==(\S+)/m.exec(readFileSync(`${ROOT}images/mlflow/requirements-previous.in`, "utf8"));
  if (!pin?.[1]) throw new Error("images/mlflow/requirements-previous.in pins no mlflow version");
  return pin[1];
}

const previousImageOf = (ctx: Ctx) => {
  const current = need(ctx, "image", "image");
  return `${current.slice(0, current.lastIndexOf(":"))}:${previousVersion()}`;
};

/** Builds the previous MLflow from the same Dockerfile (REQUIREMENTS=requirements-previous.txt) and loads it. */
export async function previousImage(ctx: Ctx): Promise<void> {
  const provider = need(ctx, "provider", "preflight");
  const ref = previousImageOf(ctx);
  if (!provider.buildImage) throw new Error(`provider ${provider.name} cannot build images (existing: give --registry): build ${ref} from images/mlflow with --build-arg REQUIREMENTS=requirements-previous.txt and load it, or --skip previous-image,version-upgrade`);
  trustHostCaBundle(`${ROOT}images/mlflow`);
  await provider.buildImage({ context: `${ROOT}images/mlflow`, tag: ref, buildArgs: { REQUIREMENTS: "requirements-previous.txt" } });
  await provider.loadImage(ref);
  ctx.log(`  built ${ref} (requirements-previous.txt) and loaded it`);
}

interface LoadResult {
  before_requests: number;
  before_failed: number;
  requests: number;
  failed: number;
  seconds: number;
  failure_samples: string[];
  attempts: number;
  failed_attempts: number;
  attempt_samples: string[];
  operation_errors: string[];
  versions: string[];
  last_version: string;
  retries: number;
  connections: number;
  runs_before: number;
  runs_during: number;
  verify_requests: number;
  verify_failed: number;
  verify_problems: string[];
  verify_problem_count: number;
}

/** Starts the Python load; resolves `ready` at its READY line and `done` with its RESULT. */
function startPythonLoad(python: string, url: string, stopFile: string, log: (line: string) => void) {
  const child = spawn(python, [LOAD_SCRIPT, "--url", url, "--stop-file", stopFile], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  let onReady: (runs: number) => void = () => undefined;
  const ready = new Promise<number>((resolve) => (onReady = resolve));
  let result: LoadResult | undefined;
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line.startsWith("READY ")) onReady(Number(line.slice(6)));
    else if (line.startsWith("RESULT ")) result = JSON.parse(line.slice(7)) as LoadResult;
    else if (line.trim()) log(`  load: ${line}`);
  });
  const done = new Promise<LoadResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => (result && code === 0 ? resolve(result) : reject(new Error(`the Python load exited ${code}: ${stderr.trim().split("\n").slice(-5).join(" | ")}`))));
  });
  return { ready: Promise.race([ready, done.then(() => -1)]), done, kill: () => child.kill("SIGKILL") };
}

export async function versionUpgrade(ctx: Ctx): Promise<void> {
  const [from, to] = [previousVersion(), appVersion()];
  // The password as a value (the chart creates the Secret), and the previous image.
  const side = await sideRelease(ctx, "up", (values, db) => {
    values.database = { ...values.database, existingSecret: "", password: db.password };
    values.image = { ...values.image, tag: from };
  });
  const { tools, kube, namespace: ns, release, password, helmArgs } = side;
  const captures: string[] = [];
  const stopFile = join(ctx.workDir, "upgrade-load.stop");
  let load: ReturnType<typeof startPythonLoad> | undefined;
  try {
    const installCapture = captureMigrationJob(kube, tools, ns, release);
    try {
      await tools.helm(["install", release, CHART, ...helmArgs]);
    } finally {
      captures.push(await installCapture.stop());
    }
    const url = await sideReleaseUrl(ctx, ns, release);
    const client = new MlflowClient({ baseUrl: url, retries: 3 });
    assert.equal((await client.version()).trim(), from, `release ${release} runs MLflow ${from} before the upgrade`);
    ctx.log(`  ${release} installed with MLflow ${from} (chart-created Secret) at ${url}`);

    load = startPythonLoad(await ensurePythonVenv("current"), url, stopFile, ctx.log);
    const runsBefore = await load.ready;
    ctx.log(`  ${runsBefore} runs written before the upgrade; readers and writers running`);
    const oldPods = (await serverPods(kube, ns, release)).map((p) => p.metadata?.name ?? "");
    const upgradeCapture = captureMigrationJob(kube, tools, ns, release);
    try {
      await tools.helm(["upgrade", release, CHART, ...helmArgs, "--set-string", `image.tag=${to}`]);
      await waitForReadyPods(kube, { namespace: ns, release, count: oldPods.length, exclude: oldPods, timeoutMs: ctx.opts.timeoutSeconds * 1000 });
    } finally {
      captures.push(await upgradeCapture.stop());
    }
    // Keep the load going past the rollout: the old pods' endpoints and pooled connections leave last.
    await new Promise((r) => setTimeout(r, 10_000));
    writeFileSync(stopFile, "");
    const r = await load.done;
    const migration = /migration done: schema revision (\S+) -> (\S+)/.exec(captures[1] ?? "");
    ctx.log(
      `  version upgrade ${from} -> ${to}: ${r.requests} requests in ${r.seconds} s through MLflow's Python client (${r.connections} keep-alive connections, retries ${r.retries ? r.retries : "off"}), ${r.failed} failed` +
        `${r.failure_samples.length ? ` (${r.failure_samples.join("; ")})` : ""}; versions the client saw: ${r.versions.join(" -> ")}; ` +
        `schema ${migration ? `${migration[1]} -> ${migration[2]}` : "(migration log not captured)"}`,
    );
    if (r.retries) ctx.log(`  HTTP attempts: ${r.attempts}, ${r.failed_attempts} failed and retried by the client${r.attempt_samples.length ? ` (${r.attempt_samples.join("; ")})` : ""}`);
    ctx.log(`  data check: ${r.runs_before + r.runs_during - r.verify_problem_count} of ${r.runs_before + r.runs_during} runs (${r.runs_before} before, ${r.runs_during} during) read back intact and each stored once: params, loss history, status, artifact`);
    assert.equal(r.before_failed + r.failed, 0, `requests failed across the upgrade: ${[...r.failure_samples, ...r.operation_errors].join("; ")}`);
    assert.ok(r.requests >= MIN_REQUESTS, `only ${r.requests} requests during the upgrade; at least ${MIN_REQUESTS} are required`);
    assert.deepEqual(r.versions, [from, to], "the client saw the previous MLflow first, then the current one, and no other");
    assert.equal(r.last_version, to, "the client's last answer came from the current MLflow");
    assert.ok(migration && migration[1] !== migration[2], "the pre-upgrade migration Job changed the schema revision");
    assert.ok(r.runs_during > 0, "no run was written during the upgrade");
    assert.equal(r.verify_failed + r.verify_problem_count, 0, `runs not intact after the upgrade: ${r.verify_problems.join("; ")}`);

    // helm get values holds this password by design (it was given as a value); everything else must not.
    const places = [...(await namespacePlaces(tools, ns)), ["the migration Jobs, pods and logs of install and upgrade (captured)", captures.join("\n")] as [string, string]];
    ctx.log(`  chart-created Secret: password (raw, URL-encoded, base64, JSON-escaped, sha256) found in none of: ${assertPasswordNowhere(password, places).join(", ")}`);
  } finally {
    load?.kill();
    await side.remove();
    // The chart's Secret is a hook resource, which helm uninstall leaves behind.
    await kube.core.deleteNamespacedSecret({ name: `${release}-db`, namespace: ns }).catch(() => undefined);
  }
}
