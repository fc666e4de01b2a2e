/**
 * One call (or a short sequence) per route family the chart serves, against a running server:
 * what a server with a package missing from the image fails on. Used by the integration tier
 * on the image's exact requirement set (routes.integration.test.ts) and on the built image
 * (image.integration.test.ts). Every family runs even when an earlier one fails, so a red run
 * names each broken family with the status and body the server gave.
 */
import { httpRequest, type HttpResponse } from "./http.ts";

export interface RouteFamilyTarget {
  host: string;
  port: number;
  /** Basic-auth credentials (the chart's auth.enabled); the anonymous check needs them. */
  auth?: { username: string; password: string };
  /** The server runs with --expose-prometheus (the chart's metrics.enabled). */
  metrics?: boolean;
}

export interface RouteFamilyResult {
  family: string;
  ok: boolean;
  /** What was seen: evidence when ok, the failing call's status and body when not. */
  detail: string;
}

export const ROUTE_FAMILIES = ["probes", "ui", "tracking", "model-registry", "artifacts", "graphql", "ajax-api", "traces", "auth", "metrics"] as const;

class RouteError extends Error {}

export async function exerciseRouteFamilies(target: RouteFamilyTarget): Promise<RouteFamilyResult[]> {
  const authHeader: Record<string, string> = target.auth ? { authorization: `Basic ${Buffer.from(`${target.auth.username}:${target.auth.password}`).toString("base64")}` } : {};
  const call = async (method: string, path: string, body?: unknown, extra: { anonymous?: boolean; raw?: string } = {}): Promise<HttpResponse> =>
    httpRequest({
      host: target.host,
      port: target.port,
      method,
      path,
      headers: { ...(extra.anonymous ? {} : authHeader), ...(body !== undefined ? { "content-type": "application/json" } : {}), ...(extra.raw !== undefined ? { "content-type": "text/plain" } : {}) },
      body: extra.raw ?? (body !== undefined ? JSON.stringify(body) : undefined),
      timeoutMs: 30_000,
    });
  const ok = async (method: string, path: string, body?: unknown, extra?: { raw?: string }): Promise<HttpResponse> => {
    const res = await call(method, path, body, extra);
    if (res.status !== 200) throw new RouteError(`${method} ${path} -> ${res.status}: ${res.text.slice(0, 300)}`);
    return res;
  };
  const json = async <T>(method: string, path: string, body?: unknown): Promise<T> => JSON.parse((await ok(method, path, body)).text) as T;
  const api = "/api/2.0/mlflow";
  const suffix = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  // Shared by later families: the tracking family makes them.
  let experimentId = "";
  let run: { run_id: string; artifact_uri: string } | undefined;

  const families: Record<(typeof ROUTE_FAMILIES)[number], () => Promise<string>> = {
    probes: async () => {
      const health = (await ok("GET", "/health", undefined)).text.trim();
      const version = (await ok("GET", "/version")).text.trim();
      if (health !== "OK") throw new RouteError(`/health said ${health}`);
      return `/health ${health}, /version ${version}`;
    },
    ui: async () => {
      const index = (await ok("GET", "/")).text;
      const asset = /(?:src|href)="\/?(static-files\/[^"]+\.js)"/.exec(index)?.[1];
      if (!asset) throw new RouteError(`GET / served no page that loads the UI's JavaScript: ${index.slice(0, 200)}`);
      const js = await ok("GET", `/${asset}`);
      return `GET / (${index.length} B) and /${asset} (${js.body.length} B)`;
    },
    tracking: async () => {
      experimentId = (await json<{ experiment_id: string }>("POST", `${api}/experiments/create`, { name: `routes-${suffix}` })).experiment_id;
      run = (await json<{ run: { info: { run_id: string; artifact_uri: string } } }>("POST", `${api}/runs/create`, { experiment_id: experimentId, start_time: Date.now() })).run.info;
      await ok("POST", `${api}/runs/log-batch`, { run_id: run.run_id, metrics: [{ key: "loss", value: 0.5, timestamp: Date.now(), step: 0 }], params: [{ key: "lr", value: "0.1" }], tags: [{ key: "t", value: "v" }] });
      const got = await json<{ run: { data: { metrics?: unknown[] } } }>("GET", `${api}/runs/get?run_id=${run.run_id}`);
      const found = await json<{ runs?: unknown[] }>("POST", `${api}/runs/search`, { experiment_ids: [experimentId], filter: "params.lr = '0.1'" });
      if (got.run.data.metrics?.length !== 1 || found.runs?.length !== 1) throw new RouteError(`run ${run.run_id}: ${JSON.stringify(got)} / search found ${found.runs?.length ?? 0}`);
      return `experiment ${experimentId}, run ${run.run_id} logged, read back and found by a param filter`;
    },
    "model-registry": async () => {
      if (!run) throw new RouteError("no run (the tracking family failed)");
      const name = `model-${suffix}`;
      await ok("POST", `${api}/registered-models/create`, { name });
      const version = (await json<{ model_version: { version: string } }>("POST", `${api}/model-versions/create`, { name, source: `${run.artifact_uri}/model`, run_id: run.run_id })).model_version.version;
      const got = await json<{ registered_model: { name: string } }>("GET", `${api}/registered-models/get?name=${encodeURIComponent(name)}`);
      return `registered model ${got.registered_model.name} version ${version}`;
    },
    artifacts: async () => {
      if (!run) throw new RouteError("no run (the tracking family failed)");
      const path = `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${run.run_id}/artifacts/routes.txt`;
      await ok("PUT", path, undefined, { raw: "through the proxy" });
      const back = (await ok("GET", path)).text;
      const listed = await json<{ files?: { path: string }[] }>("GET", `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(`${experimentId}/${run.run_id}/artifacts`)}`);
      if (back !== "through the proxy" || !listed.files?.some((f) => f.path === "routes.txt")) throw new RouteError(`read back ${JSON.stringify(back)}, listed ${JSON.stringify(listed)}`);
      return `PUT, GET and list of ${path}`;
    },
    graphql: async () => {
      const res = await json<{ data?: { mlflowGetExperiment?: { experiment?: { name?: string } } }; errors?: unknown }>("POST", "/graphql", {
        query: "query q($id: String) { mlflowGetExperiment(input: {experimentId: $id}) { experiment { name } } }",
        variables: { id: experimentId },
      });
      const name = res.data?.mlflowGetExperiment?.experiment?.name;
      if (!name || res.errors) throw new RouteError(`/graphql: ${JSON.stringify(res).slice(0, 300)}`);
      return `/graphql mlflowGetExperiment -> ${name}`;
    },
    "ajax-api": async () => {
      const res = await json<{ experiments?: unknown[] }>("POST", "/ajax-api/2.0/mlflow/experiments/search", { max_results: 10 });
      return `/ajax-api experiments/search -> ${res.experiments?.length ?? 0} experiment(s)`;
    },
    traces: async () => {
      const res = await json<{ traces?: unknown[] }>("GET", `${api}/traces?experiment_ids=${experimentId}`);
      return `traces search -> ${res.traces?.length ?? 0} trace(s)`;
    },
    auth: async () => {
      if (!target.auth) return "not enabled on this server";
      const anonymous = await call("POST", `${api}/experiments/search`, { max_results: 1 }, { anonymous: true });
      if (anonymous.status !== 401) throw new RouteError(`an anonymous call got ${anonymous.status}, not 401`);
      const user = `user-${suffix}`;
      await ok("POST", `${api}/users/create`, { username: user, password: `pw-${suffix}-Aa1!` });
      const got = await json<{ user: { username: string } }>("GET", `${api}/users/get?username=${encodeURIComponent(user)}`);
      return `anonymous 401; admin created and read user ${got.user.username}`;
    },
    metrics: async () => {
      if (!target.metrics) return "not enabled on this server";
      const body = (await ok("GET", "/metrics")).text;
      if (!/^mlflow_http_request_total\{/m.test(body)) throw new RouteError(`/metrics has no mlflow_http_request_total: ${body.slice(0, 300)}`);
      return "/metrics has mlflow_http_request_total";
    },
  };

  const results: RouteFamilyResult[] = [];
  for (const family of ROUTE_FAMILIES) {
    try {
      results.push({ family, ok: true, detail: await families[family]() });
    } catch (e) {
      results.push({ family, ok: false, detail: e instanceof RouteError ? e.message : `${(e as Error).name}: ${(e as Error).message}` });
    }
  }
  return results;
}

/** One line per family, for a test's failure message or log. */
export const describeRouteFamilies = (results: RouteFamilyResult[]): string => results.map((r) => `${r.ok ? "ok  " : "FAIL"} ${r.family}: ${r.detail}`).join("\n");
