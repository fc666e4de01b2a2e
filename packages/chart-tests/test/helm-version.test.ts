/** The Helm each project of the suite runs (vitest.config.ts) is one Chart.yaml says the chart is tested with. */
import { describe, expect, it } from "vitest";
import { CHART_ANNOTATIONS, helmVersion } from "../src/helm.ts";

// e.g. ">=3.9.4 <5.0.0 (tested: 3.9.4, 3.17.3, 4.1.4)"
const claim = CHART_ANNOTATIONS["mlflow-k8s/helm-versions"] ?? "";
const oldest = /^>=(\d+\.\d+\.\d+) /.exec(claim)?.[1];
const tested = (/\(tested: ([^)]*)\)/.exec(claim)?.[1] ?? "").split(/,\s*/);

describe("the Helm under test", () => {
  const version = helmVersion();
  const bare = /^v(\d+\.\d+\.\d+)/.exec(version)?.[1];

  it(`${process.env.HELM_BIN} is a version Chart.yaml's mlflow-k8s/helm-versions lists as tested`, () => {
    expect(bare, `helm version --short printed ${JSON.stringify(version)}`).toBeDefined();
    expect(tested, `Chart.yaml annotation mlflow-k8s/helm-versions: ${claim}`).toContain(bare);
  });

  it("is the Helm this project is for (the oldest: exactly the lower bound Chart.yaml claims)", () => {
    if (process.env.HELM_EXPECT === "oldest") expect(bare).toBe(oldest);
    else expect(version).toMatch(new RegExp(process.env.HELM_EXPECT ?? "^v4\\."));
  });
});
