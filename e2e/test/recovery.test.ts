/** The database-restart figures and verdicts, on hand-made (fake) samples. */
import { describe, expect, it } from "vitest";
import { analyseRecovery, type Sample } from "../src/recovery.ts";

const marks = { stoppedAt: 1000, acceptedAt: 9000 };
/** A fake pod that answers every 500 ms: ok unless `failing(at)` says otherwise. */
const pod = (name: string, failing: (at: number) => boolean, until = 14_000): Sample[] =>
  Array.from({ length: until / 500 }, (_, i) => i * 500).map((at) => ({ pod: name, start: at, end: at + 50, ok: !failing(at), ...(failing(at) ? { error: "HTTP 500" } : {}) }));
const outage = (at: number) => at >= 1000 && at < 9500;

describe("analyseRecovery", () => {
  it("reports the longest error window and recovery from when PostgreSQL accepted connections", () => {
    const r = analyseRecovery([...pod("a", outage), ...pod("b", (at) => at >= 1000 && at < 10_500)], marks);
    expect(r.problems).toEqual([]);
    expect(r.pods.find((p) => p.pod === "a")?.recoveredMs).toBe(550);
    expect(r.slowestRecoveryMs).toBe(1550);
    expect(r.longestErrorWindowMs).toBe(10_550 - 1000);
  });

  it("fails on an error after a pod had recovered", () => {
    const r = analyseRecovery([...pod("a", (at) => outage(at) || at === 12_000), ...pod("b", outage)], marks);
    expect(r.problems).toEqual([expect.stringMatching(/^a: 1 error\(s\) after it had recovered, the first 3\.0 s after/)]);
  });

  it("fails when a pod never recovers, or never saw the outage", () => {
    const r = analyseRecovery([...pod("a", (at) => at >= 1000), ...pod("b", () => false)], marks);
    expect(r.problems).toEqual([
      "a: no successful request after PostgreSQL accepted connections again",
      "b: no error while PostgreSQL was down: the outage did not reach this pod",
    ]);
    expect(r.slowestRecoveryMs).toBeUndefined();
  });

  it("fails when a pod was already failing before the database stopped", () => {
    const r = analyseRecovery(pod("a", (at) => at === 0 || outage(at)), marks);
    expect(r.problems).toEqual(["a: 1 error(s) before PostgreSQL was stopped (HTTP 500)"]);
  });
});
