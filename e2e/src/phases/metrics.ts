/**
 * MLflow's Prometheus metrics (metrics.enabled, which the e2e's generated values turn on):
 * GET /metrics through the Service's NodePort, and from each pod as a ServiceMonitor scrapes,
 * and find MLflow's request counter (`mlflow_http_request_total`, from MLflow's
 * GunicornInternalPrometheusMetrics with defaults_prefix "mlflow") counting the REST calls
 * made just before.
 */
import { strict as assert } from "node:assert";
import { need, type Ctx } from "../context.ts";
import { serverPods } from "../kube.ts";
import { podGet } from "../api-proxy.ts";

export const REQUEST_SERIES = "mlflow_http_request_total";

/** The samples of one counter in a Prometheus text exposition: labels as written, value. */
export function counterSamples(exposition: string, name: string): { labels: string; value: number }[] {
  const line = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, "gm");
  return [...exposition.matchAll(line)].map((m) => ({ labels: m[1] ?? "", value: Number(m[2]) }));
}

export async function metrics(ctx: Ctx): Promise<void> {
  const url = need(ctx, "url", "discover");
  const kube = need(ctx, "kube", "cluster");
  const ns = ctx.opts.namespace;
  const pods = (await serverPods(kube, ns, ctx.opts.release)).filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name ?? "");
  // Each pod counts only what it served, and the Service may send the scrape to any of them:
  // one REST call straight to every pod (the API server's pod proxy) first.
  for (const name of pods) {
    const r = await podGet(kube, { namespace: ns, name, port: 5000 }, "/api/2.0/mlflow/experiments/search?max_results=1");
    assert.equal(r.status, 200, `experiments/search on pod ${name}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  }
  const res = await fetch(`${url}/metrics`, { headers: { connection: "close" } });
  const body = await res.text();
  assert.equal(res.status, 200, `GET ${url}/metrics answered ${res.status} (is metrics.enabled on?): ${body.slice(0, 200)}`);
  const samples = counterSamples(body, REQUEST_SERIES);
  assert.ok(samples.length > 0, `GET ${url}/metrics has no ${REQUEST_SERIES} series (${body.length} bytes; metrics.enabled off?) ${JSON.stringify(body.slice(0, 300))}`);
  const total = samples.reduce((n, s) => n + s.value, 0);
  assert.ok(total > 0, `${REQUEST_SERIES} counts no request`);
  ctx.log(`  GET ${url}/metrics (through the Service): ${REQUEST_SERIES} ${samples.map((s) => `{${s.labels}} ${s.value}`).join(", ")}`);
  // As a ServiceMonitor scrapes: every pod on its own.
  for (const name of pods) {
    const r = await podGet(kube, { namespace: ns, name, port: 5000 }, "/metrics");
    const own = counterSamples(r.body, REQUEST_SERIES);
    assert.ok(r.status === 200 && own.some((s) => s.value > 0), `pod ${name}'s /metrics (HTTP ${r.status}) counts no request in ${REQUEST_SERIES}`);
    ctx.log(`  pod ${name} /metrics: ${own.reduce((n, s) => n + s.value, 0)} requests counted`);
  }
}
