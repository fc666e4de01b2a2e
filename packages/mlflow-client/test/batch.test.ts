import { describe, expect, it } from "vitest";
import { chunkBatch, MLFLOW_BATCH_LIMITS, type Metric, type Param, type Tag } from "../src/index.ts";

const metrics = (n: number): Metric[] => Array.from({ length: n }, (_, i) => ({ key: `m${i}`, value: i, timestamp: 1, step: i }));
const params = (n: number): Param[] => Array.from({ length: n }, (_, i) => ({ key: `p${i}`, value: `${i}` }));
const tags = (n: number): Tag[] => Array.from({ length: n }, (_, i) => ({ key: `t${i}`, value: `${i}` }));
const size = (c: { metrics?: unknown[]; params?: unknown[]; tags?: unknown[] }) =>
  (c.metrics?.length ?? 0) + (c.params?.length ?? 0) + (c.tags?.length ?? 0);

describe("chunkBatch", () => {
  it("gives no request for an empty batch", () => {
    expect(chunkBatch({})).toEqual([]);
  });

  it("keeps a batch within the limits in one request", () => {
    const chunks = chunkBatch({ metrics: metrics(800), params: params(100), tags: tags(100) });
    expect(chunks).toHaveLength(1);
    expect(size(chunks[0]!)).toBe(1000);
  });

  it("splits 2500 metrics into requests of at most 1000", () => {
    expect(chunkBatch({ metrics: metrics(2500) }).map((c) => c.metrics?.length)).toEqual([1000, 1000, 500]);
  });

  it("splits params and tags at 100 each and never exceeds 1000 items per request", () => {
    const chunks = chunkBatch({ metrics: metrics(1950), params: params(250), tags: tags(130) });
    for (const c of chunks) {
      expect(c.params?.length ?? 0).toBeLessThanOrEqual(MLFLOW_BATCH_LIMITS.params);
      expect(c.tags?.length ?? 0).toBeLessThanOrEqual(MLFLOW_BATCH_LIMITS.tags);
      expect(c.metrics?.length ?? 0).toBeLessThanOrEqual(MLFLOW_BATCH_LIMITS.metrics);
      expect(size(c)).toBeLessThanOrEqual(MLFLOW_BATCH_LIMITS.total);
    }
    expect(chunks.flatMap((c) => c.metrics ?? []).map((m) => m.key)).toEqual(metrics(1950).map((m) => m.key));
    expect(chunks.flatMap((c) => c.params ?? [])).toHaveLength(250);
    expect(chunks.flatMap((c) => c.tags ?? [])).toHaveLength(130);
  });

  it("honours lower custom limits", () => {
    const chunks = chunkBatch({ params: params(5), metrics: metrics(5) }, { metrics: 3, params: 2, tags: 2, total: 4 });
    expect(chunks.map(size)).toEqual([4, 4, 2]);
  });
});
