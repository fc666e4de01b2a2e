/**
 * A steady, bounded stream of REST calls against MLflow while something else
 * happens (an upgrade, a database restart). No retries: every failure counts.
 */
import { Agent } from "node:http";
import fetch from "node-fetch";
import { MlflowClient, type FetchLike } from "@mlflow-k8s/mlflow-client";

// A new connection per request, as many short-lived clients (notebooks, CI jobs) make them:
// what is measured is whether the Service routes new requests to a pod that serves them,
// not how a pooled socket to a terminating pod behaves.
const noKeepAlive = new Agent({ keepAlive: false });
const freshConnectionFetch: FetchLike = (url, init) => fetch(url, { ...(init as object), agent: noKeepAlive }) as unknown as ReturnType<FetchLike>;

export interface LoadResult {
  total: number;
  failed: number;
  /** A few distinct failure messages, for the log. */
  samples: string[];
  /** Milliseconds since start of each failure (for recovery time). */
  failureTimes: number[];
  /** Milliseconds since start of each success. */
  successTimes: number[];
}

export interface Load {
  stop(): Promise<LoadResult>;
}

export function startLoad(baseUrl: string, runId: string, opts: { workers?: number; pauseMs?: number; maxRequests?: number } = {}): Load {
  const client = new MlflowClient({ baseUrl, retries: 0, timeoutMs: 10_000, fetch: freshConnectionFetch });
  const result: LoadResult = { total: 0, failed: 0, samples: [], failureTimes: [], successTimes: [] };
  const started = performance.now();
  const maxRequests = opts.maxRequests ?? 20_000;
  let running = true;
  const worker = async () => {
    while (running && result.total < maxRequests) {
      result.total += 1;
      const at = performance.now() - started;
      try {
        await client.getRun(runId);
        result.successTimes.push(at);
      } catch (error) {
        result.failed += 1;
        result.failureTimes.push(at);
        const message = (error as Error).message;
        if (result.samples.length < 5 && !result.samples.includes(message)) result.samples.push(message);
      }
      await new Promise((r) => setTimeout(r, opts.pauseMs ?? 100));
    }
  };
  const workers = Array.from({ length: opts.workers ?? 2 }, worker);
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return result;
    },
  };
}
