/**
 * HTTP load with autocannon against one MLflow endpoint. Every run is bounded in time
 * (`durationSeconds`) and in count (`maxRequests`); targets are only loopback NodePorts
 * of the project's cluster or servers the bench started itself.
 */
import autocannon from "autocannon";
import type { Endpoint, LoadFigures } from "./results.ts";

export interface LoadSpec {
  baseUrl: string;
  endpoint: Endpoint;
  runId: string;
  connections: number;
  durationSeconds: number;
  maxRequests?: number;
}

const API = "/api/2.0/mlflow";
/** Metrics per log-batch request: a training loop flushing a handful of values per step. */
export const METRICS_PER_BATCH = 10;

/** The autocannon request for an endpoint. log-batch steps increase, so every request writes new rows. */
export function requestFor(endpoint: Endpoint, runId: string): Parameters<typeof autocannon>[0]["requests"] {
  if (endpoint === "get-run") return [{ method: "GET", path: `${API}/runs/get?run_id=${encodeURIComponent(runId)}` }];
  let step = 0;
  return [
    {
      method: "POST",
      path: `${API}/runs/log-batch`,
      headers: { "content-type": "application/json" },
      setupRequest: (req) => {
        step += 1;
        const timestamp = Date.now();
        const metrics = Array.from({ length: METRICS_PER_BATCH }, (_, i) => ({ key: `m${i}`, value: Math.sin(step + i), timestamp, step }));
        return { ...req, body: JSON.stringify({ run_id: runId, metrics }) };
      },
    },
  ];
}

export async function runLoad(spec: LoadSpec): Promise<LoadFigures> {
  const r = await autocannon({
    url: spec.baseUrl,
    connections: spec.connections,
    duration: spec.durationSeconds,
    maxOverallRequests: spec.maxRequests ?? 200_000,
    timeout: 10,
    requests: requestFor(spec.endpoint, spec.runId),
  });
  return {
    requests: r.requests.total,
    durationSeconds: r.duration,
    rps: r.duration > 0 ? r["2xx"] / r.duration : 0,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}
