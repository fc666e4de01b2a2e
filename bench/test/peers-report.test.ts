import { describe, expect, it } from "vitest";
import { separatedRatio, spread } from "../src/peers-report.ts";

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
