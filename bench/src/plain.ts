/**
 * The baseline: `mlflow server` started the way MLflow's tutorial does, with every default
 * (its default backend store in the working directory, its default worker count), from the
 * project's venv (the same MLflow pin as the image), in a temp dir. Only the port is chosen,
 * so it cannot collide; it listens on its default host, 127.0.0.1.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ensurePythonVenv, freePort, startProcess, waitFor, type ManagedProcess } from "@mlflow-k8s/testbed";

export interface PlainServer {
  url: string;
  command: string;
  stop(): Promise<void>;
}

export async function startPlainServer(log: (line: string) => void): Promise<PlainServer> {
  const python = await ensurePythonVenv();
  const mlflow = join(dirname(python), "mlflow");
  const dir = mkdtempSync(join(tmpdir(), "mlflow-bench-plain-"));
  const port = await freePort();
  const args = ["server", "--port", String(port)];
  const proc: ManagedProcess = startProcess("mlflow-plain", mlflow, args, {
    cwd: dir,
    logFile: join(dir, "server.log"),
    // Telemetry off: a benchmark phones nowhere. Nothing else differs from a user's shell.
    env: { PATH: `${dirname(python)}:/usr/local/bin:/usr/bin:/bin`, HOME: dir, MLFLOW_DISABLE_TELEMETRY: "true", DO_NOT_TRACK: "true" },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        return r?.ok ? true : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500, what: `plain mlflow server on ${url}`, abortIf: () => (proc.running ? undefined : `it exited:\n${proc.logTail(20)}`) },
    );
  } catch (e) {
    await proc.stop();
    throw e;
  }
  log(`  plain \`mlflow ${args.join(" ")}\` (cwd ${dir}) answers on ${url}`);
  return {
    url,
    command: `mlflow ${args.join(" ")}`,
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
