/**
 * Image size and what it buys: images/mlflow against MLflow's official recipe (`pip install
 * mlflow==<same version>`, bench/images/mlflow-official) and against images/mlflow as it was
 * before the slim change (commit BEFORE_SLIM, the `mlflow` package's whole dependency set), all
 * built FROM the same Debian base with the provider's Docker engine and measured by `docker image
 * inspect` .Size; then start time and idle worker memory of ours and the before image
 * (image-runtime.ts). A build failure is recorded, not hidden; builds are bounded at 15 minutes.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KindProvider, ambientDocker, dockerBuildArgs, docker$, type ClusterProvider, type DockerTarget } from "@mlflow-k8s/cluster";
import { DEFAULT_IMAGE, trustHostCaBundle } from "../../e2e/src/phases/image.ts";
import { IDLE_SECONDS, RUNTIME_ROUNDS, RUNTIME_WORKERS, measureRuntime } from "./image-runtime.ts";
import { machineInfo } from "./machine.ts";
import type { ImageData, ImageFigure, Section } from "./results.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
export const OFFICIAL_IMAGE = "mlflow-k8s/mlflow-official:3.17.2";
/** The last commit whose images/mlflow installed the `mlflow` package's whole dependency set. */
export const BEFORE_SLIM = "d10b9ca";
export const BEFORE_IMAGE = "mlflow-k8s/mlflow-before-slim:3.17.2";
export const BUILD_TIMEOUT = "15m";

async function imageBytes(docker: DockerTarget, ref: string): Promise<number | undefined> {
  const r = await docker$(docker, { nothrow: true })`${docker.bin} image inspect -f {{.Size}} ${ref}`;
  return r.exitCode === 0 ? Number(r.stdout.trim()) : undefined;
}

async function build(docker: DockerTarget, ref: string, context: string, base: string, offline: boolean, log: (l: string) => void): Promise<ImageFigure> {
  const started = performance.now();
  const args = dockerBuildArgs({ context, tag: ref, buildArgs: { BASE_IMAGE: base } }, { networkHost: offline });
  log(`  docker ${args.join(" ")}`);
  const r = await docker$(docker, { nothrow: true })`${docker.bin} ${args}`.timeout(BUILD_TIMEOUT, "SIGTERM");
  const buildSeconds = (performance.now() - started) / 1000;
  if (r.exitCode === 0) {
    const bytes = await imageBytes(docker, ref);
    log(`  ${ref}: ${bytes} bytes, built in ${buildSeconds.toFixed(0)} s`);
    return { ref, status: "built", buildSeconds, ...(bytes !== undefined ? { bytes } : {}) };
  }
  const timedOut = r.signal === "SIGTERM" || buildSeconds >= 15 * 60 - 1;
  const lastLines = `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-3).join(" / ");
  log(`  ${ref}: build ${timedOut ? "timed out" : "failed"} after ${buildSeconds.toFixed(0)} s: ${lastLines}`);
  return { ref, status: timedOut ? "timed out" : "failed", buildSeconds, error: timedOut ? `pip did not finish within ${BUILD_TIMEOUT}` : lastLines.slice(0, 300) };
}

export async function buildImages(provider: ClusterProvider, log: (l: string) => void): Promise<Section<ImageData>> {
  const started = performance.now();
  // kind's engine: the project's dockerd where no Docker engine runs (then FROM its offline Debian base, host network for pip).
  const kind = provider instanceof KindProvider ? provider : undefined;
  const docker = kind ? await kind.engine.ensure() : ambientDocker;
  const offline = kind?.engine.ours() ?? false;
  const base = kind ? await kind.engine.debianBase() : "debian:bookworm-slim";
  // images/mlflow as committed at BEFORE_SLIM, exported into a scratch build context.
  const beforeDir = mkdtempSync(join(tmpdir(), "mlflow-bench-before-"));
  execFileSync("sh", ["-c", `git -C "$0" archive ${BEFORE_SLIM} images/mlflow | tar -x -C "$1"`, ROOT, beforeDir]);
  for (const dir of [join(ROOT, "images/mlflow"), join(ROOT, "bench/images/mlflow-official"), join(beforeDir, "images/mlflow")]) trustHostCaBundle(dir);
  const baseBytes = await imageBytes(docker, base);
  const data: ImageData = {
    base: { ref: base, status: baseBytes === undefined ? "not built" : "built", ...(baseBytes !== undefined ? { bytes: baseBytes } : {}) },
    ours: await build(docker, DEFAULT_IMAGE, join(ROOT, "images/mlflow"), base, offline, log),
    official: await build(docker, OFFICIAL_IMAGE, join(ROOT, "bench/images/mlflow-official"), base, offline, log),
    before: await build(docker, BEFORE_IMAGE, join(beforeDir, "images/mlflow"), base, offline, log),
  };
  rmSync(beforeDir, { recursive: true, force: true });
  let error: string | undefined;
  if (data.ours.status === "built" && data.before?.status === "built") {
    try {
      data.runtime = await measureRuntime(docker, [{ label: "ours", ref: DEFAULT_IMAGE }, { label: "before the slim change", ref: BEFORE_IMAGE }], log);
    } catch (e) {
      error = `start/memory runs: ${(e as Error).message}`;
      log(`  ${error}`);
    }
  }
  const notes = [
    "Size: `docker image inspect` .Size, uncompressed, base layers included, all FROM the same base. Ours is images/mlflow: requirements.txt (hash-pinned, installed --no-deps) leaves out the `mlflow` dependencies the server never imports (requirements-excluded.in), and bytecode is compiled only for what the server loads. The official recipe is bench/images/mlflow-official/Dockerfile: Debian's python3 and a venv standing in for python:<x>-slim, then `pip install mlflow==3.17.2` (dependencies resolved by pip at build time), one stage. Before: images/mlflow at commit " + BEFORE_SLIM + " (mlflow's whole dependency set, all bytecode compiled).",
    `Start and memory: ${RUNTIME_ROUNDS} rounds, the images alternating; each run is \`docker run\` of \`mlflow-entrypoint server --workers ${RUNTIME_WORKERS}\` as the chart runs it (UID 10001, read-only root, /tmp tmpfs, artifacts proxied to the GCS emulator) against the testbed's PostgreSQL (schema migrated once before), host network. Start: from just before \`docker run -d\` to the first 200 from /health (polled every 100 ms; the chart's probe path), so it includes the entrypoint's database check and every worker's imports. Memory: RSS of each uvicorn worker process (\`docker top\`) after ${IDLE_SECONDS} s without requests; the parent and uvicorn's supervisor are not counted.`,
    "Build time is this run's; Docker's layer cache makes a repeat build take seconds.",
  ];
  return { measuredAt: new Date().toISOString(), machine: machineInfo(), seconds: (performance.now() - started) / 1000, data, notes, ...(error ? { error } : {}) };
}
