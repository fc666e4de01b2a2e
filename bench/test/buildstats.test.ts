import { describe, expect, it } from "vitest";
import { parseBuildStats } from "../src/buildstats.ts";

describe("build-stats.tsv", () => {
  it("reads build-kubernetes.sh's rows with peak RSS", () => {
    const text = "binary\tseconds\tmax_rss_kb\tgo\tdate\nkube-apiserver\t381.06\t1735372\tgo1.26.8\t2026-11-25T17:30:17Z\netcd\t1.54\t389008\tgo1.26.8\t2026-11-25T17:32:36Z\n";
    expect(parseBuildStats(text)).toEqual([
      { what: "kube-apiserver", seconds: 381.06, peakRssBytes: 1735372 * 1024, builtAt: "2026-11-25T17:30:17Z" },
      { what: "etcd", seconds: 1.54, peakRssBytes: 389008 * 1024, builtAt: "2026-11-25T17:32:36Z" },
    ]);
  });

  it("reads build-coredns.sh's headerless rows and keeps the first (cold) one", () => {
    const text = "v1.12.4\t252\tgo1.26.8\t2026-11-25T18:13:42Z\nv1.12.4\t12\tgo1.26.8\t2026-11-25T18:26:07Z\n";
    expect(parseBuildStats(text, "coredns")).toEqual([{ what: "coredns v1.12.4", seconds: 252, builtAt: "2026-11-25T18:13:42Z" }]);
  });
});
