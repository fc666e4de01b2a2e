/** Reading MLflow's request counter out of a Prometheus text exposition (as /metrics serves it). */
import { describe, expect, it } from "vitest";
import { counterSamples } from "../src/phases/metrics.ts";

const exposition = `# HELP mlflow_http_request_total Total number of HTTP requests
# TYPE mlflow_http_request_total counter
mlflow_http_request_total{method="GET",status="200"} 7.0
mlflow_http_request_total{method="POST",status="200"} 3.0
# HELP mlflow_http_request_created Total number of HTTP requests
mlflow_http_request_created{method="GET",status="200"} 1.7e+09
mlflow_http_request_duration_seconds_count{method="GET",mlflow_version="3.17.2",path="/api/2.0/mlflow/experiments/search",status="200"} 7.0
`;

describe("counterSamples", () => {
  it("returns each sample of the named counter with its labels and value, and nothing of other series", () => {
    expect(counterSamples(exposition, "mlflow_http_request_total")).toEqual([
      { labels: 'method="GET",status="200"', value: 7 },
      { labels: 'method="POST",status="200"', value: 3 },
    ]);
  });

  it("finds nothing when the series is absent (metrics off)", () => {
    expect(counterSamples("# HELP python_info Python platform information\npython_info 1.0\n", "mlflow_http_request_total")).toEqual([]);
  });
});
