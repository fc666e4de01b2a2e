/** The verdict on a migration Job waiting for a database that is down, on hand-made (fake) API objects. */
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { judgeWaitingMigration } from "../src/migration-job.ts";

const job = (status: V1Job["status"] = { active: 1 }): V1Job => ({ metadata: { name: "mlflow-migrate" }, spec: { backoffLimit: 3, template: {} }, status });
const pod = (name: string, phase: string): V1Pod => ({ metadata: { name }, status: { phase, containerStatuses: [] } });

describe("judgeWaitingMigration", () => {
  it("accepts one Job with one waiting pod", () => {
    expect(judgeWaitingMigration({ jobs: [job()], pods: [pod("m-1", "Running")] })).toEqual([]);
    expect(judgeWaitingMigration({ jobs: [job()], pods: [pod("m-1", "Pending")] })).toEqual([]);
  });

  it("catches a crash that the old restart count missed: a Failed pod and its replacement, restartCount 0 everywhere", () => {
    const problems = judgeWaitingMigration({ jobs: [job({ active: 1, failed: 1 })], pods: [pod("m-1", "Failed"), pod("m-2", "Running")] });
    expect(problems).toEqual([
      "Job mlflow-migrate has 1 failed pod(s) of its backoffLimit 3",
      "expected exactly 1 migration pod, found 2 (m-1=Failed, m-2=Running)",
      "1 migration pod(s) Failed (m-1=Failed, m-2=Running)",
    ]);
  });

  it("catches a missing Job or a migration that finished without a database", () => {
    expect(judgeWaitingMigration({ jobs: [], pods: [] })).toEqual(["expected 1 migration Job, found 0", "expected exactly 1 migration pod, found 0 (none)"]);
    expect(judgeWaitingMigration({ jobs: [job({ succeeded: 1 })], pods: [pod("m-1", "Succeeded")] })).toEqual([
      "Job mlflow-migrate succeeded although the database is down",
      "the migration pod is not waiting (m-1=Succeeded)",
    ]);
  });
});
