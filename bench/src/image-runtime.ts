/**
 * What a smaller image buys at run time, per image, in interleaved rounds (image A, image B,
 * image A, ...): the time from `docker run` to the first 200 from /health (the chart's startup
 * and readiness probe path), and each server worker's resident memory once idle. Every
 * container runs as the chart runs it (UID 10001, read-only root, /tmp a tmpfs, DB_* from an
 * env file, 2 workers, artifacts proxied to GCS) against one PostgreSQL and one GCS emulator
 * from the testbed, on the host network (loopback only), its schema migrated once beforehand.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { docker$, type DockerTarget } from "@mlflow-k8s/cluster";
import { dbEnv, freePort, httpRequest, sleep, startGcsEmulator, startPostgres } from "@mlflow-k8s/testbed";
import type { ImageRuntime } from "./results.ts";

export const RUNTIME_ROUNDS = 5;
export const RUNTIME_WORKERS = 2;
/** How long a server sits without requests before its workers' memory is read. */
export const IDLE_SECONDS = 10;

/** Resident set sizes (bytes) of the server's worker processes in `docker top -eo pid,rss,args` output (docker top needs the pid column). */
export function workerRss(top: string): number[] {
  return top
    .split("\n")
    .slice(1)
    .filter((line) => line.includes("multiprocessing.spawn"))
    .map((line) => Number(line.trim().split(/\s+/)[1]) * 1024);
}

async function readyAfter(port: number, startedAt: number, timeoutMs: number): Promise<number> {
  while (performance.now() - startedAt < timeoutMs) {
    const ok = await httpRequest({ host: "127.0.0.1", port, path: "/health", timeoutMs: 2_000 }).then((r) => r.status === 200, () => false);
    if (ok) return (performance.now() - startedAt) / 1000;
    await sleep(100);
  }
  throw new Error(`no 200 from /health within ${timeoutMs / 1000} s`);
}

export async function measureRuntime(docker: DockerTarget, images: { label: string; ref: string }[], log: (l: string) => void, rounds = RUNTIME_ROUNDS): Promise<ImageRuntime[]> {
  const pg = await startPostgres();
  const gcs = await startGcsEmulator({ bucket: "bench-image" });
  const dir = mkdtempSync(join(tmpdir(), "mlflow-bench-image-"));
  const envFile = join(dir, "env");
  const env = { ...dbEnv(pg.connection), STORAGE_EMULATOR_HOST: gcs.emulatorHost, GCE_METADATA_HOST: "127.0.0.1:9", GCE_METADATA_IP: "127.0.0.1:9", HOME: "/tmp", MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false" };
  writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}`).join("\n") + "\n", { mode: 0o600 });
  const run = (...args: string[]) => docker$(docker)`${docker.bin} ${args}`;
  const chartLike = ["--network", "host", "--read-only", "--tmpfs", "/tmp:rw,mode=1777", "--user", "10001:10001", "--cap-drop", "ALL", "--env-file", envFile];
  const out: ImageRuntime[] = images.map((i) => ({ ...i, startToReadySeconds: [], idleWorkerRssBytes: [] }));
  try {
    await run("run", "--rm", ...chartLike, images[0]!.ref, "migrate");
    for (let round = 1; round <= rounds; round++) {
      for (const figures of out) {
        const name = `mlflow-bench-runtime-${process.pid}`;
        const port = await freePort();
        const started = performance.now();
        await run("run", "-d", "--name", name, ...chartLike, figures.ref, "server", "--host", "127.0.0.1", "--port", String(port),
          "--serve-artifacts", "--artifacts-destination", gcs.gsUri("bench"), "--workers", String(RUNTIME_WORKERS));
        try {
          const seconds = await readyAfter(port, started, 180_000);
          await sleep(IDLE_SECONDS * 1000);
          const rss = workerRss((await run("top", name, "-eo", "pid,rss,args")).stdout);
          if (rss.length !== RUNTIME_WORKERS) throw new Error(`${figures.ref}: found ${rss.length} worker processes, expected ${RUNTIME_WORKERS}`);
          figures.startToReadySeconds.push(seconds);
          figures.idleWorkerRssBytes.push(...rss);
          log(`  round ${round} ${figures.label}: /health 200 after ${seconds.toFixed(1)} s; idle workers ${rss.map((b) => `${(b / 2 ** 20).toFixed(0)} MiB`).join(", ")}`);
        } finally {
          await docker$(docker, { nothrow: true })`${docker.bin} rm -f ${name}`;
        }
      }
    }
    return out;
  } finally {
    await gcs.destroy();
    await pg.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
