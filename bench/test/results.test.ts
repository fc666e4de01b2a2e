import { describe, expect, it } from "vitest";
import { podMemoryBytes } from "../src/kubelet.ts";
import { cpuModel } from "../src/machine.ts";
import { mergeResults, parseResults, renderMarkdown, type Machine, type Section } from "../src/results.ts";

const machine: Machine = { cpus: 2, memoryBytes: 24 * 1024 ** 3, cpuModel: "AMD EPYC", kernel: "6.1.0", node: "v24.21.0" };
const at = <T>(data: T, extra: Partial<Section<T>> = {}): Section<T> => ({ measuredAt: "2026-11-25T18:00:00.000Z", machine, seconds: 42, data, notes: [], ...extra });
const load = { requests: 1000, durationSeconds: 10, rps: 100, p50Ms: 20, p99Ms: 80, errors: 0, non2xx: 0 };

describe("mergeResults", () => {
  it("replaces the sections of this run and keeps the others", () => {
    const old = mergeResults(undefined, { tiers: at({ fast: { seconds: 10, exitCode: 0 } }), image: at({ base: { ref: "b", status: "built" as const }, ours: { ref: "o", status: "built" as const }, official: { ref: "f", status: "built" as const } }) });
    const merged = mergeResults(old, { tiers: at({ fast: { seconds: 5, exitCode: 0 } }) });
    expect(merged.sections.tiers?.data.fast?.seconds).toBe(5);
    expect(merged.sections.image?.data.ours.ref).toBe("o");
  });
});

describe("parseResults", () => {
  it("reads what it wrote", () => {
    const r = mergeResults(undefined, { tiers: at({ fast: { seconds: 1, exitCode: 0 } }) });
    expect(parseResults(JSON.stringify(r))).toEqual(r);
  });

  it("drops sections the bench no longer measures", () => {
    const text = JSON.stringify({ schema: 1, sections: { local: at({ build: [] }), throughput: at({ runs: [] }), tiers: at({ fast: { seconds: 1, exitCode: 0 } }) } });
    expect(Object.keys(parseResults(text).sections)).toEqual(["tiers"]);
  });

  it("refuses a file that is not a results file", () => {
    expect(() => parseResults(JSON.stringify({ hello: 1 }))).toThrow(/schema 1/);
  });
});

describe("renderMarkdown", () => {
  it("puts kind's node image, up/down and both providers' e2e phases side by side", () => {
    const phases = (s: number, status = "passed") => [{ name: "cluster", status, seconds: s }];
    const md = renderMarkdown(
      mergeResults(undefined, {
        kind: at({
          kubernetesVersion: "v1.34.4",
          nodeImage: { ref: "mlflow-k8s/kind-node:v1.34.4-abc", coldSeconds: 95.2, warmSeconds: 2.1, bytes: 1024 ** 3 },
          up: [21.5, 20.1],
          down: [8.2, 7.9],
          e2e: [
            { provider: "kind", seconds: 480, exitCode: 0, phases: phases(20) },
            { provider: "minikube", seconds: 300, exitCode: 1, phases: phases(14, "failed") },
          ],
        }),
      }),
    );
    expect(md).toContain("| node image, cold (our layers and component images removed first) | 95.2 s |");
    expect(md).toContain("| `up`: kind create cluster to a Ready node + local registry wired | 21.5 s, 20.1 s |");
    expect(md).toContain("| whole e2e, `--provider minikube` (exit 1) | 300 s |");
    expect(md).toContain("| phase | kind | minikube |");
    expect(md).toContain("| cluster | 20.0 s | 14.0 s (failed) |");
  });

  it("renders minikube's section beside kind's, with its base image in the image rows", () => {
    const md = renderMarkdown(
      mergeResults(undefined, {
        minikube: at({
          kubernetesVersion: "v1.34.4",
          nodeImage: { ref: "mlflow-k8s/kicbase:v1.34.4-abc", coldSeconds: 20.2, warmSeconds: 0.4 },
          up: [40.4, 41.0],
          down: [5.9, 6.1],
          e2e: [{ provider: "minikube", seconds: 577, exitCode: 0, phases: [{ name: "cluster", status: "passed", seconds: 45.3 }] }],
        }),
      }),
    );
    expect(md).toContain("## minikube on this machine (base image built here on the kind node image, Kubernetes v1.34.4)");
    expect(md).toContain("| base image, cold (our kicbase images removed first; the kind node image cached) | 20.2 s |");
    expect(md).toContain("| `up`: minikube start to a Ready node (--wait=all) + local registry wired | 40.4 s, 41.0 s |");
    expect(md).toContain("Base image `mlflow-k8s/kicbase:v1.34.4-abc`");
    expect(md).toContain("| whole e2e, `--provider minikube` | 577 s |");
  });

  it("says there are no figures yet for an empty file", () => {
    expect(renderMarkdown({ schema: 1, sections: {} })).toContain("No figures yet");
  });

  it("names the machine once when every section ran on it", () => {
    const md = renderMarkdown(mergeResults(undefined, { tiers: at({ fast: { seconds: 12.34, exitCode: 0 } }) }));
    expect(md).toContain("Machine: 2 CPU (AMD EPYC), 24.0 GiB RAM, Linux 6.1.0, Node v24.21.0.");
    expect(md).toContain("| fast (`pnpm test`) | 12.3 s | passed |");
  });

  it("lists the e2e phases and marks a failed tier", () => {
    const md = renderMarkdown(
      mergeResults(undefined, { tiers: at({ e2e: { seconds: 300, exitCode: 1, phases: [{ name: "cluster", status: "passed", seconds: 16.3 }, { name: "install", status: "failed", seconds: 40 }] } }) }),
    );
    expect(md).toContain("| e2e (`pnpm e2e`) | 300 s | exit 1 |");
    expect(md).toContain("| cluster | 16.3 s | passed |");
    expect(md).toContain("| install | 40.0 s | failed |");
  });

  it("puts every peer under each endpoint as median (min–max), with a ratio only where the ranges do not overlap", () => {
    const runs = (peer: "chart" | "mlflow-defaults" | "official-recipe", endpoint: "get-run" | "log-batch", rps: number[]) =>
      rps.map((r, i) => ({ peer, endpoint, round: i + 1, ...load, rps: r }));
    const md = renderMarkdown(
      mergeResults(undefined, {
        peers: at({
          rounds: 3,
          connections: 8,
          durationSeconds: 10,
          peers: { chart: "defaults", "mlflow-defaults": "mlflow server", "official-recipe": "pip install mlflow" },
          resources: "1 CPU",
          postgres: "durable",
          seededRuns: 3000,
          runs: [
            ...runs("chart", "get-run", [150, 160, 170]),
            ...runs("mlflow-defaults", "get-run", [100, 110, 120]),
            ...runs("official-recipe", "get-run", [140, 155, 165]),
            ...runs("chart", "log-batch", [50, 60, 55]),
          ],
          knobs: [{ knob: "server.workers", value: "4", endpoint: "get-run" as const, round: 1, ...load, rps: 90 }],
          memoryBytes: {},
          restarts: {},
        }),
      }),
    );
    expect(md).toContain("| get-run | chart | 160.0 (150.0–170.0) | 20 ms (20–20) | 80 ms (80–80) | 0 |  |");
    expect(md).toContain("| get-run | mlflow-defaults | 110.0 (100.0–120.0) | 20 ms (20–20) | 80 ms (80–80) | 0 | **1.45×** |");
    expect(md).toContain("| get-run | official-recipe | 155.0 (140.0–165.0) | 20 ms (20–20) | 80 ms (80–80) | 0 | ranges overlap: none claimed |");
    expect(md).toContain("| log-batch | chart | 55.0 (50.0–60.0) |");
    expect(md).toContain("| server.workers | 4 | get-run | 90.0 (90.0–90.0) | 80 ms (80–80) | 0 |");
  });

  it("shows scaling against the 1 replica x 1 worker row, with memory per pod and in total", () => {
    const md = renderMarkdown(
      mergeResults(undefined, {
        scaling: at({
          connections: 8,
          durationSeconds: 10,
          endpoint: "get-run" as const,
          rows: [
            { replicas: 1, workers: 1, ...load, podMemoryBytes: [300 * 1024 ** 2] },
            { replicas: 2, workers: 1, ...load, rps: 180, podMemoryBytes: [300 * 1024 ** 2, 500 * 1024 ** 2] },
          ],
        }),
      }),
    );
    expect(md).toContain("| 1 | 1 | 100.0 | 1.00× | 20 ms | 80 ms | 0 | 300 MiB | 300 MiB |");
    expect(md).toContain("| 2 | 1 | 180.0 | 1.80× | 20 ms | 80 ms | 0 | 400 MiB | 800 MiB |");
  });

  it("reports an image that could not be built instead of a size, and the ratio only when both exist", () => {
    const md = renderMarkdown(
      mergeResults(undefined, {
        image: at({
          base: { ref: "base", status: "built" as const, bytes: 100 * 1024 ** 2 },
          ours: { ref: "ours", status: "built" as const, bytes: 400 * 1024 ** 2, buildSeconds: 5 },
          official: { ref: "official", status: "timed out" as const, buildSeconds: 900, error: "pip did not finish within 15m" },
        }),
      }),
    );
    expect(md).toContain("| ours (images/mlflow) | `ours` | 400 MiB (419430400 B) | 5.0 s |");
    expect(md).toContain("timed out: pip did not finish within 15m");
    expect(md).not.toContain("the size of ours");
  });

  it("gives start time and idle worker memory as median (min–max) with the run count", () => {
    const md = renderMarkdown(
      mergeResults(undefined, {
        image: at({
          base: { ref: "base", status: "built" as const, bytes: 100 * 1024 ** 2 },
          ours: { ref: "ours", status: "built" as const, bytes: 400 * 1024 ** 2 },
          official: { ref: "official", status: "built" as const, bytes: 1200 * 1024 ** 2 },
          runtime: [{ label: "ours", ref: "o", startToReadySeconds: [12, 10, 14], idleWorkerRssBytes: [200 * 1024 ** 2, 190 * 1024 ** 2, 210 * 1024 ** 2, 205 * 1024 ** 2] }],
        }),
      }),
    );
    expect(md).toContain("The official recipe's image is **3.00×** the size of ours.");
    expect(md).toContain("| ours `o` | 12.0 s (10.0 s–14.0 s), n=3 | 203 MiB (190 MiB–210 MiB), n=4 |");
  });

  it("gives the cold total as image import plus install to first REST call", () => {
    const md = renderMarkdown(
      mergeResults(undefined, { install: at({ cold: { imageImportSeconds: 30, toFirstRestSeconds: 40, helmWaitSeconds: 45 }, warm: { toFirstRestSeconds: 35, helmWaitSeconds: 38 } }) }),
    );
    expect(md).toContain("| cold (image not on the node) | 70.0 s | 30.0 s | 40.0 s | 45.0 s |");
    expect(md).toContain("| warm (image already on the node) | 35.0 s | — | 35.0 s | 38.0 s |");
  });

  it("gives every install round as median (min–max) when there are several", () => {
    const t = (rest: number) => ({ toFirstRestSeconds: rest, helmWaitSeconds: rest + 1 });
    const md = renderMarkdown(mergeResults(undefined, { install: at({ cold: t(30), warm: t(20), runs: { cold: [t(30), t(28), t(33)], warm: [t(20), t(19), t(22)] } }) }));
    expect(md).toContain("| cold (pulled from the registry) | 30.0 s (28.0 s–33.0 s), n=3 | 31.0 s (29.0 s–34.0 s), n=3 |");
    expect(md).toContain("| warm | 20.0 s (19.0 s–22.0 s), n=3 | 21.0 s (20.0 s–23.0 s), n=3 |");
  });

  it("marks an incomplete section with its error", () => {
    const md = renderMarkdown(mergeResults(undefined, { install: at({}, { error: "helm install failed: boom" }) }));
    expect(md).toContain("**Incomplete:** helm install failed: boom");
  });

  it("names each section's machine when they differ", () => {
    const other = { ...machine, cpus: 8 };
    const md = renderMarkdown(mergeResults(undefined, { tiers: at({}), install: at({}, { machine: other }) }));
    expect(md).not.toContain("Machine:");
    expect(md).toContain("on 8 CPU (AMD EPYC)");
  });
});

describe("podMemoryBytes (kubelet /stats/summary)", () => {
  const summary = {
    pods: [
      { podRef: { name: "a", namespace: "ns" }, memory: { workingSetBytes: 100 } },
      { podRef: { name: "b", namespace: "ns" }, containers: [{ name: "mlflow", memory: { workingSetBytes: 60 } }, { name: "side", memory: { workingSetBytes: 40 } }] },
      { podRef: { name: "a", namespace: "other" }, memory: { workingSetBytes: 999 } },
    ],
  };

  it("takes the pod's own working set, in the order asked", () => {
    expect(podMemoryBytes(summary, "ns", ["a"])).toEqual([100]);
  });

  it("sums the containers when the pod has no figure of its own", () => {
    expect(podMemoryBytes(summary, "ns", ["b", "a"])).toEqual([100, 100]);
  });

  it("leaves out pods the summary does not list yet, and other namespaces", () => {
    expect(podMemoryBytes(summary, "ns", ["missing"])).toEqual([]);
    expect(podMemoryBytes({}, "ns", ["a"])).toEqual([]);
  });
});

describe("cpuModel", () => {
  it("reads the first model name from /proc/cpuinfo", () => {
    expect(cpuModel("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n")).toBe("AMD EPYC 7B13");
  });

  it("says unknown when there is none", () => {
    expect(cpuModel("")).toBe("unknown CPU");
  });
});
