import { describe, expect, it } from "vitest";
import { renderPeers, separatedRatio, spread } from "../src/peers-report.ts";

describe("spread", () => {
  it("gives the median (middle two averaged for an even count), min and max", () => {
    expect(spread([3, 1, 2])).toEqual({ n: 3, median: 2, min: 1, max: 3 });
    expect(spread([4, 1, 2, 3])).toEqual({ n: 4, median: 2.5, min: 1, max: 4 });
    expect(spread([])).toBeUndefined();
  });
});

describe("separatedRatio", () => {
  it("claims a ratio only when one range lies wholly above or below the other", () => {
    expect(separatedRatio(spread([150, 160, 170]), spread([100, 110, 120]))).toBeCloseTo(160 / 110);
    expect(separatedRatio(spread([50, 60]), spread([100, 120]))).toBeCloseTo(55 / 110);
    expect(separatedRatio(spread([100, 130]), spread([120, 140]))).toBeUndefined();
    expect(separatedRatio(spread([100, 120]), spread([120, 140]))).toBeUndefined();
    expect(separatedRatio(undefined, spread([1]))).toBeUndefined();
  });
});

describe("renderPeers", () => {
  const run = (peer: "chart" | "official-recipe", rps: number, round: number) => ({ peer, endpoint: "get-run" as const, round, rps, p50Ms: 10, p99Ms: 20, requests: rps * 10, errors: 0, non2xx: 0, durationSeconds: 10 });
  it("reports each peer's working set and its restarts with their reasons, so an OOM-killed peer is visible", () => {
    const text = renderPeers({
      rounds: 2, connections: 8, durationSeconds: 10, seededRuns: 10, resources: "r", postgres: "pg",
      peers: { chart: "c", "mlflow-defaults": "d", "official-recipe": "o" },
      runs: [run("chart", 50, 1), run("chart", 52, 2), run("official-recipe", 0, 1), run("official-recipe", 1, 2)],
      knobs: [],
      memoryBytes: { chart: [600 * 2 ** 20, 620 * 2 ** 20], "official-recipe": [1900 * 2 ** 20] },
      restarts: { chart: { count: 0, reasons: [] }, "official-recipe": { count: 2, reasons: ["OOMKilled"] } },
    }).join("\n");
    expect(text).toContain("| chart | 610 MiB (600–620) | 0 |");
    expect(text).toContain("| official-recipe | 1900 MiB (1900–1900) | 2 (OOMKilled) |");
    expect(text).toContain("**102.00×**");
  });
});
