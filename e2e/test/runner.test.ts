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

describe("skipping phases", () => {
  it("reports a skipped phase as not run, never as passed", async () => {
    const results = await runPhases([{ name: "a", does: "a", run: async () => {} }, { name: "b", does: "b", run: async () => {} }], {}, () => {}, ["b"]);
    expect(results.map((r) => r.status)).toEqual(["passed", "not run"]);
  });

  it("refuses to skip a phase that does not exist", async () => {
    await expect(runPhases([{ name: "a", does: "a", run: async () => {} }], {}, () => {}, ["nope"])).rejects.toThrow(/unknown phase\(s\) nope; phases: a/);
  });
});

describe("redaction", () => {
  it("removes every occurrence of each secret", () => {
    expect(redact("pw=hunter22 again hunter22", ["hunter22"])).toBe("pw=<redacted> again <redacted>");
  });
});

describe("error lines", () => {
  it("reduces a Kubernetes API exception to its status and message", async () => {
    const { describeError } = await import("../src/runner.ts");
    const apiError = Object.assign(new Error("HTTP-Code: 404\nMessage: Unknown API Status Code!\nBody: ..."), {
      code: 404,
      body: JSON.stringify({ kind: "Status", message: 'services "x" not found', code: 404 }),
    });
    expect(describeError(apiError)).toBe('Kubernetes API 404: services "x" not found');
    expect(describeError(new Error("first line\nsecond"))).toBe("first line");
  });
});
