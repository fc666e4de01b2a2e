/**
 * The chart's migration Job (a pre-install/pre-upgrade hook): its state while the
 * database is down, and a capture of the Job, its pods and their logs taken while they
 * exist (helm deletes the Job once it succeeds, so a later search would find nothing).
 */
import { BatchV1Api, type V1Job, type V1Pod } from "@kubernetes/client-node";
import type { Kube } from "./kube.ts";
import type { Tools } from "./tools.ts";

const selector = (release: string) => `app.kubernetes.io/instance=${release},app.kubernetes.io/component=migration`;

export async function migrationJobState(kube: Kube, namespace: string, release: string): Promise<{ jobs: V1Job[]; pods: V1Pod[] }> {
  const batch = kube.kc.makeApiClient(BatchV1Api);
  const [jobs, pods] = await Promise.all([
    batch.listNamespacedJob({ namespace, labelSelector: selector(release) }),
    kube.core.listNamespacedPod({ namespace, labelSelector: selector(release) }),
  ]);
  return { jobs: jobs.items, pods: pods.items };
}

/**
 * What must hold while the migration waits for a database that is down: one Job whose
 * backoff is untouched, exactly one pod, still waiting (Pending or Running), none Failed.
 * With restartPolicy Never a crash makes a new pod rather than a restart, so pods and
 * their phases are counted, not container restarts. Returns the problems (empty: fine).
 */
export function judgeWaitingMigration(state: { jobs: V1Job[]; pods: V1Pod[] }): string[] {
  const problems: string[] = [];
  const phases = state.pods.map((p) => `${p.metadata?.name}=${p.status?.phase}`).join(", ") || "none";
  if (state.jobs.length !== 1) problems.push(`expected 1 migration Job, found ${state.jobs.length}`);
  for (const job of state.jobs) {
    if ((job.status?.failed ?? 0) > 0) problems.push(`Job ${job.metadata?.name} has ${job.status?.failed} failed pod(s) of its backoffLimit ${job.spec?.backoffLimit}`);
    if ((job.status?.succeeded ?? 0) > 0) problems.push(`Job ${job.metadata?.name} succeeded although the database is down`);
  }
  if (state.pods.length !== 1) problems.push(`expected exactly 1 migration pod, found ${state.pods.length} (${phases})`);
  const failed = state.pods.filter((p) => p.status?.phase === "Failed");
  if (failed.length) problems.push(`${failed.length} migration pod(s) Failed (${phases})`);
  const waiting = state.pods.filter((p) => p.status?.phase === "Pending" || p.status?.phase === "Running");
  if (state.pods.length === 1 && !waiting.length) problems.push(`the migration pod is not waiting (${phases})`);
  return problems;
}

export interface HookCapture {
  /** Stops polling, waits for log followers, returns everything captured (Job and pod JSON, logs). */
  stop(followMs?: number): Promise<string>;
}

/** Polls the release's migration Job and pods, and follows each pod's log from its start. */
export function captureMigrationJob(kube: Kube, tools: Tools, namespace: string, release: string, intervalMs = 300): HookCapture {
  const texts: string[] = [];
  const followers = new Map<string, ReturnType<Tools["kubectl"]>>();
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const { jobs, pods } = await migrationJobState(kube, namespace, release);
        for (const object of [...jobs, ...pods]) texts.push(JSON.stringify(object));
        for (const pod of pods) {
          const name = pod.metadata?.name ?? "";
          const started = (pod.status?.containerStatuses ?? []).some((c) => c.state?.running || c.state?.terminated);
          if (name && started && !followers.has(name)) {
            const follower = tools.kubectl(["logs", "-f", "-n", namespace, name, "--all-containers"]).nothrow();
            follower.then((r) => void texts.push(r.stdout, r.stderr), () => undefined);
            followers.set(name, follower);
          }
        }
      } catch {
        // The API may hiccup while hooks come and go; the next poll takes it again.
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop(followMs = 60_000) {
      running = false;
      await loop;
      // A pod that is still waiting (a failed install) would be followed forever: give up after followMs.
      const timer = setTimeout(() => followers.forEach((f) => void f.kill().catch(() => undefined)), followMs);
      await Promise.allSettled(followers.values());
      clearTimeout(timer);
      return texts.join("\n");
    },
  };
}
