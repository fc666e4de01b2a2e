import { describe, expect, it } from "vitest";
import { formatBytes, formatSeconds, percentile, ratio, summarize } from "../src/stats.ts";

describe("percentile (nearest rank)", () => {
  it("is undefined for no samples", () => {
    expect(percentile([], 50)).toBeUndefined();
  });

  it("gives the median of an odd count as the middle sample, whatever the input order", () => {
    expect(percentile([5, 1, 3], 50)).toBe(3);
  });

  it("gives the lower middle sample for an even count", () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
  });

  it("p99 of 1..100 is 99 and p100 is the maximum", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
  });

  it("p99 of fewer than 100 samples is the maximum", () => {
    expect(percentile([10, 20, 30], 99)).toBe(30);
  });

  it("p0 is the minimum", () => {
    expect(percentile([4, 2, 8], 0)).toBe(2);
  });

  it("does not reorder the caller's array", () => {
    const xs = [3, 1, 2];
    percentile(xs, 50);
    expect(xs).toEqual([3, 1, 2]);
  });

  it("rejects a percentile outside 0-100", () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe("summarize", () => {
  it("is undefined for no samples", () => {
    expect(summarize([])).toBeUndefined();
  });

  it("gives count, min, mean, p50, p99 and max", () => {
    expect(summarize([4, 1, 3, 2])).toEqual({ n: 4, min: 1, mean: 2.5, p50: 2, p99: 4, max: 4 });
  });
});

describe("ratio", () => {
  it("divides", () => {
    expect(ratio(3, 2)).toBe(1.5);
  });

  it("is undefined when a side is missing or the divisor is 0", () => {
    expect(ratio(undefined, 2)).toBeUndefined();
    expect(ratio(1, undefined)).toBeUndefined();
    expect(ratio(1, 0)).toBeUndefined();
  });
});

describe("formatting", () => {
  it("formats bytes in binary units", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(734003200)).toBe("700 MiB");
    expect(formatBytes(2.5 * 1024 ** 3)).toBe("2.5 GiB");
    expect(formatBytes(undefined)).toBe("—");
  });

  it("formats seconds with one decimal below 100 s", () => {
    expect(formatSeconds(12.34)).toBe("12.3 s");
    expect(formatSeconds(612.4)).toBe("612 s");
    expect(formatSeconds(undefined)).toBe("—");
  });
});
