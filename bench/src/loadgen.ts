/**
 * HTTP load with autocannon against one MLflow endpoint. Every run is bounded in time
 * (`durationSeconds`) and in count (`maxRequests`); targets are only loopback NodePorts
 * of the project's cluster or servers the bench started itself.
 */
import autocannon from "autocannon";
import type { Endpoint, LoadFigures } from "./results.ts";

/** What the requests address: the seeded run, and for search and artifacts their experiment and files. */
export interface LoadTarget {
  runId: string;
  /** search-runs: the experiment holding the seeded runs. */
  experimentId?: string;
  /** artifact-put/get: the run's root under the artifact proxy, e.g. "1/<run id>/artifacts" (artifactRootPath). */
  artifactRoot?: string;
  /** artifact-put: names uploads apart, so peers and runs never overwrite each other's objects. */
  uploadPrefix?: string;
}

export interface LoadSpec extends LoadTarget {
  baseUrl: string;
  endpoint: Endpoint;
  connections: number;
  durationSeconds: number;
  maxRequests?: number;
}

const API = "/api/2.0/mlflow";
const ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts";
/** Metrics per log-batch request: a training loop flushing a handful of values per step. */
export const METRICS_PER_BATCH = 10;
/** The search users run over an experiment: a param filter and a metric bound, one page. */
export const SEARCH_FILTER = "params.group = '7' and metrics.loss < 0.5";
export const SEARCH_PAGE = 50;
/** Size of each artifact uploaded and downloaded. */
export const ARTIFACT_BYTES = 1024 * 1024;
/** The file artifact-get reads, uploaded by the seed. */
export const SEEDED_ARTIFACT = "bench/seed-1MiB.bin";

const need = (v: string | undefined, what: string, endpoint: Endpoint) => {
  if (!v) throw new Error(`${endpoint} needs ${what}`);
  return v;
};

/**
 * The autocannon request for an endpoint. log-batch steps increase and each artifact-put has a
 * new name, so every write request writes new rows or a new object.
 */
export function requestFor(endpoint: Endpoint, target: LoadTarget): Parameters<typeof autocannon>[0]["requests"] {
  const { runId } = target;
  if (endpoint === "get-run") return [{ method: "GET", path: `${API}/runs/get?run_id=${encodeURIComponent(runId)}` }];
  if (endpoint === "search-runs") {
    const body = JSON.stringify({ experiment_ids: [need(target.experimentId, "an experiment id", endpoint)], filter: SEARCH_FILTER, max_results: SEARCH_PAGE });
    return [{ method: "POST", path: `${API}/runs/search`, headers: { "content-type": "application/json" }, body }];
  }
  if (endpoint === "artifact-get") return [{ method: "GET", path: `${ARTIFACTS}/${need(target.artifactRoot, "the run's artifact root", endpoint)}/${SEEDED_ARTIFACT}` }];
  if (endpoint === "artifact-put") {
    const root = need(target.artifactRoot, "the run's artifact root", endpoint);
    const prefix = need(target.uploadPrefix, "an upload prefix", endpoint);
    const body = Buffer.alloc(ARTIFACT_BYTES, 7);
    let n = 0;
    return [
      {
        method: "PUT",
        headers: { "content-type": "application/octet-stream" },
        body,
        setupRequest: (req) => {
          n += 1;
          return { ...req, path: `${ARTIFACTS}/${root}/bench/${prefix}-${n}.bin` };
        },
      },
    ];
  }
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
    requests: requestFor(spec.endpoint, spec),
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
