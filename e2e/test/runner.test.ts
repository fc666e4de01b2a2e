import { describe, expect, it } from "vitest";
import { runPhases, toReport } from "../src/runner.ts";
import { redact } from "../src/diagnostics.ts";

describe("phase runner", () => {
  it("runs phases in order and stops at the first failure, reporting the rest as not run", async () => {
    const ran: string[] = [];
    const lines: string[] = [];
    const results = await runPhases(
      [
        { name: "one", does: "first", run: async () => void ran.push("one") },
        { name: "two", does: "second", run: async () => { ran.push("two"); throw new Error("boom"); } },
        { name: "three", does: "third", run: async () => void ran.push("three") },
      ],
      {},
      (l) => lines.push(l),
    );
    expect(ran).toEqual(["one", "two"]);
    expect(results.map((r) => r.status)).toEqual(["passed", "failed", "not run"]);
    expect(results[1]?.error).toBe("boom");
    expect(lines).toContain("phase 2/3 two: second");
    expect(lines.some((l) => /^phase two FAILED after \d+\.\d s: boom$/.test(l))).toBe(true);
    expect(toReport(results)).toMatchObject({ numPassedTests: 1, numFailedTests: 1, numPendingTests: 1 });
  });
});

describe("redaction", () => {
  it("removes every occurrence of each secret", () => {
    expect(redact("pw=hunter22 again hunter22", ["hunter22"])).toBe("pw=<redacted> again <redacted>");
  });
});
