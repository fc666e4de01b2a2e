/**
 * The from-source section: what the cold build of the kind node image's parts cost, as
 * packages/cluster/from-source/build-*.sh recorded it in build-stats.tsv when they filled the
 * cache (the bench does not rebuild them: a cold Kubernetes build takes 10-20 min here).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cacheRoot, COREDNS_VERSION, KUBERNETES_VERSION } from "@mlflow-k8s/cluster";
import { parseBuildStats } from "./buildstats.ts";
import { machineInfo } from "./machine.ts";
import type { FromSourceData, Section } from "./results.ts";

export function fromSourceSection(cache = cacheRoot()): Section<FromSourceData> {
  const started = performance.now();
  const read = (file: string, name?: string) => (existsSync(file) ? parseBuildStats(readFileSync(file, "utf8"), name) : []);
  const build = [
    ...read(join(cache, "kubernetes", KUBERNETES_VERSION, "build-stats.tsv")),
    ...read(join(cache, "coredns", COREDNS_VERSION, "build-stats.tsv"), "coredns"),
  ];
  return {
    measuredAt: new Date().toISOString(),
    machine: machineInfo(),
    seconds: (performance.now() - started) / 1000,
    data: { kubernetesVersion: KUBERNETES_VERSION, build },
    notes: [
      "Read from build-stats.tsv, written when the cache was filled (one binary at a time, -p 1; resolving and downloading the modules first is not included). The first row per binary is its cold build; later rows are rebuilds on a warm Go cache. Other agents may have shared the 2 cores at the time (see the dates).",
    ],
    ...(build.length ? {} : { error: `no build-stats.tsv under ${cache}: run scripts/setup.sh first` }),
  };
}
