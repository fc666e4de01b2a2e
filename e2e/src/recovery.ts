/**
 * Reads per-pod request samples taken around a database restart: how long each pod
 * answered with errors, when it recovered (from the moment PostgreSQL accepted
 * connections again), and whether any error came after that recovery.
 */

export interface Sample {
  pod: string;
  /** ms on one monotonic clock (performance.now()) */
  start: number;
  end: number;
  ok: boolean;
  error?: string;
}

export interface PodRecovery {
  pod: string;
  requests: number;
  failures: number;
  /** End of the first success after PostgreSQL accepted connections, minus that moment. */
  recoveredMs: number | undefined;
  longestErrorWindowMs: number;
}

export interface RecoveryReport {
  pods: PodRecovery[];
  longestErrorWindowMs: number;
  slowestRecoveryMs: number | undefined;
  /** Everything that makes the check fail, one sentence each. */
  problems: string[];
}

/** `stoppedAt`: PostgreSQL was told to stop; `acceptedAt`: it accepted connections again. */
export function analyseRecovery(samples: Sample[], marks: { stoppedAt: number; acceptedAt: number }): RecoveryReport {
  const problems: string[] = [];
  const byPod = new Map<string, Sample[]>();
  for (const s of samples) byPod.set(s.pod, [...(byPod.get(s.pod) ?? []), s]);
  const pods: PodRecovery[] = [];
  for (const [pod, list] of byPod) {
    list.sort((a, b) => a.start - b.start);
    const early = list.filter((s) => !s.ok && s.end < marks.stoppedAt);
    if (early.length) problems.push(`${pod}: ${early.length} error(s) before PostgreSQL was stopped (${early[0]?.error})`);
    if (!list.some((s) => !s.ok && s.start >= marks.stoppedAt && s.start < marks.acceptedAt)) {
      problems.push(`${pod}: no error while PostgreSQL was down: the outage did not reach this pod`);
    }
    const recovery = list.find((s) => s.ok && s.end >= marks.acceptedAt && s.start >= marks.stoppedAt);
    if (!recovery) problems.push(`${pod}: no successful request after PostgreSQL accepted connections again`);
    const late = recovery ? list.filter((s) => !s.ok && s.start > recovery.end) : [];
    if (late.length) {
      problems.push(`${pod}: ${late.length} error(s) after it had recovered, the first ${((late[0]!.start - marks.acceptedAt) / 1000).toFixed(1)} s after PostgreSQL accepted connections: ${late[0]?.error}`);
    }
    pods.push({
      pod,
      requests: list.length,
      failures: list.filter((s) => !s.ok).length,
      recoveredMs: recovery ? recovery.end - marks.acceptedAt : undefined,
      longestErrorWindowMs: longestErrorWindow(list),
    });
  }
  const recoveries = pods.map((p) => p.recoveredMs).filter((ms): ms is number => ms !== undefined);
  return {
    pods,
    longestErrorWindowMs: Math.max(0, ...pods.map((p) => p.longestErrorWindowMs)),
    slowestRecoveryMs: recoveries.length === pods.length && pods.length ? Math.max(...recoveries) : undefined,
    problems,
  };
}

/** From the start of the first failed request of a run of failures to the end of the success that ends it. */
function longestErrorWindow(sorted: Sample[]): number {
  let longest = 0;
  let openedAt: number | undefined;
  for (const s of sorted) {
    if (!s.ok) openedAt ??= s.start;
    else if (openedAt !== undefined) {
      longest = Math.max(longest, s.end - openedAt);
      openedAt = undefined;
    }
  }
  const last = sorted.at(-1);
  if (openedAt !== undefined && last) longest = Math.max(longest, last.end - openedAt);
  return longest;
}
