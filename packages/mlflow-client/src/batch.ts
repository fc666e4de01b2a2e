import type { Batch } from "./types.ts";

/** MLflow's documented limits for one runs/log-batch request. */
export interface BatchLimits {
  metrics: number;
  params: number;
  tags: number;
  total: number;
}

export const MLFLOW_BATCH_LIMITS: Readonly<BatchLimits> = Object.freeze({
  metrics: 1000,
  params: 100,
  tags: 100,
  total: 1000,
});

/**
 * Splits a batch into requests that each respect MLflow's limits. Order within each kind
 * is kept; params and tags go first so they land before the metrics that describe them.
 * An empty batch gives no chunks.
 */
export function chunkBatch(batch: Batch, limits: BatchLimits = MLFLOW_BATCH_LIMITS): Batch[] {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`batch limit ${name} must be an integer >= 1`);
  }
  const metrics = batch.metrics ?? [];
  const params = batch.params ?? [];
  const tags = batch.tags ?? [];
  const chunks: Batch[] = [];
  let m = 0;
  let p = 0;
  let t = 0;
  while (m < metrics.length || p < params.length || t < tags.length) {
    const pn = Math.min(params.length - p, limits.params, limits.total);
    const tn = Math.min(tags.length - t, limits.tags, limits.total - pn);
    const mn = Math.min(metrics.length - m, limits.metrics, limits.total - pn - tn);
    const chunk: Batch = {};
    if (pn > 0) chunk.params = params.slice(p, p + pn);
    if (tn > 0) chunk.tags = tags.slice(t, t + tn);
    if (mn > 0) chunk.metrics = metrics.slice(m, m + mn);
    chunks.push(chunk);
    p += pn;
    t += tn;
    m += mn;
  }
  return chunks;
}
