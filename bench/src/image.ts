/**
 * Image size: images/mlflow against the same MLflow installed with
 * `mlflow[extras,db,gateway,genai,auth]` (as the official -full image is), both built FROM
 * the same Debian base with the provider's Docker engine, both measured by `docker image
 * inspect` .Size. The extras build is bounded at 15 minutes; a failure is recorded, not hidden.
 */
import { join } from "node:path";
import { KindProvider, ambientDocker, dockerBuildArgs, docker$, type ClusterProvider, type DockerTarget } from "@mlflow-k8s/cluster";
import { DEFAULT_IMAGE, trustHostCaBundle } from "../../e2e/src/phases/image.ts";
import { machineInfo } from "./machine.ts";
import type { ImageData, ImageFigure, Section } from "./results.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
export const FULL_IMAGE = "mlflow-k8s/mlflow-full:3.17.2";
export const FULL_BUILD_TIMEOUT = "15m";

async function imageBytes(docker: DockerTarget, ref: string): Promise<number | undefined> {
  const r = await docker$(docker, { nothrow: true })`${docker.bin} image inspect -f {{.Size}} ${ref}`;
  return r.exitCode === 0 ? Number(r.stdout.trim()) : undefined;
}

async function build(docker: DockerTarget, ref: string, context: string, base: string, offline: boolean, log: (l: string) => void): Promise<ImageFigure> {
  const started = performance.now();
  const args = dockerBuildArgs({ context, tag: ref, buildArgs: { BASE_IMAGE: base } }, { networkHost: offline });
  log(`  docker ${args.join(" ")}`);
  const r = await docker$(docker, { nothrow: true })`${docker.bin} ${args}`.timeout(FULL_BUILD_TIMEOUT, "SIGTERM");
  const buildSeconds = (performance.now() - started) / 1000;
  if (r.exitCode === 0) {
    const bytes = await imageBytes(docker, ref);
    log(`  ${ref}: ${bytes} bytes, built in ${buildSeconds.toFixed(0)} s`);
    return { ref, status: "built", buildSeconds, ...(bytes !== undefined ? { bytes } : {}) };
  }
  const timedOut = r.signal === "SIGTERM" || buildSeconds >= 15 * 60 - 1;
  const lastLines = `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-3).join(" / ");
  log(`  ${ref}: build ${timedOut ? "timed out" : "failed"} after ${buildSeconds.toFixed(0)} s: ${lastLines}`);
  return { ref, status: timedOut ? "timed out" : "failed", buildSeconds, error: timedOut ? `pip did not finish within ${FULL_BUILD_TIMEOUT}` : lastLines.slice(0, 300) };
}

export async function buildImages(provider: ClusterProvider, log: (l: string) => void): Promise<Section<ImageData>> {
  const started = performance.now();
  // kind's engine: the project's dockerd where no Docker engine runs (then FROM its offline Debian base, host network for pip).
  const kind = provider instanceof KindProvider ? provider : undefined;
  const docker = kind ? await kind.engine.ensure() : ambientDocker;
  const offline = kind?.engine.ours() ?? false;
  const base = kind ? await kind.engine.debianBase() : "debian:bookworm-slim";
  for (const dir of ["images/mlflow", "bench/images/mlflow-full"]) trustHostCaBundle(join(ROOT, dir));
  const baseBytes = await imageBytes(docker, base);
  const data: ImageData = {
    base: { ref: base, status: baseBytes === undefined ? "not built" : "built", ...(baseBytes !== undefined ? { bytes: baseBytes } : {}) },
    ours: await build(docker, DEFAULT_IMAGE, join(ROOT, "images/mlflow"), base, offline, log),
    full: await build(docker, FULL_IMAGE, join(ROOT, "bench/images/mlflow-full"), base, offline, log),
  };
  const notes = [
    "Size: `docker image inspect` .Size, uncompressed, base layers included. Both are two-stage builds FROM the same base (a venv copied into a fresh base with python3 only), so the difference is the Python package set: ours is images/mlflow/requirements.txt (mlflow, psycopg2-binary, google-cloud-storage, hash-pinned); the other is bench/images/mlflow-full/Dockerfile, `pip install mlflow[extras,db,gateway,genai,auth]==3.17.2` with unpinned dependencies, as the official `-full` image installs it.",
    "Build time is this run's; Docker's layer cache makes a repeat build take seconds.",
  ];
  return { measuredAt: new Date().toISOString(), machine: machineInfo(), seconds: (performance.now() - started) / 1000, data, notes };
}
