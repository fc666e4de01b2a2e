#!/usr/bin/env node
/**
 * The release path, one implementation for .github/workflows/release.yml (GHCR) and the e2e
 * (kind's local registry), so that the e2e proves what a release does:
 *
 *   node e2e/src/release.ts meta [--tag vX.Y.Z] [--registry ghcr.io/<owner>]
 *     what a release publishes, as key=value lines for $GITHUB_OUTPUT: the chart version, the
 *     image <registry>/mlflow:<appVersion>; refuses a tag other than v<chart version> and a
 *     registry whose image is not the chart's default image.repository.
 *   node e2e/src/release.ts chart oci://<registry>/charts [--plain-http]
 *     helm package charts/mlflow, helm push, helm pull it back and compare the bytes.
 *
 * The image itself is built and pushed by docker (buildx for two platforms in release.yml,
 * `docker build` + `docker push` in the e2e), tagged as `meta` says.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { $ } from "zx";
import YAML from "yaml";

export const CHART = new URL("../../charts/mlflow", import.meta.url).pathname;
/** The image's name under the registry, in release.yml and in the e2e. */
export const IMAGE_NAME = "mlflow";

export interface ReleaseMeta {
  chartName: string;
  chartVersion: string;
  appVersion: string;
  /** values.yaml's image.repository: what a plain `helm install` pulls. */
  defaultRepository: string;
}

export function releaseMeta(chart = CHART): ReleaseMeta {
  const c = YAML.parse(readFileSync(join(chart, "Chart.yaml"), "utf8")) as { name: string; version: string; appVersion: string };
  const v = YAML.parse(readFileSync(join(chart, "values.yaml"), "utf8")) as { image: { repository: string } };
  return { chartName: String(c.name), chartVersion: String(c.version), appVersion: String(c.appVersion), defaultRepository: v.image.repository };
}

/** The image a release publishes to `registry` (e.g. ghcr.io/mlflow-k8s or localhost:5001). */
export function releaseImage(registry: string, meta = releaseMeta()): string {
  return `${registry}/${IMAGE_NAME}:${meta.appVersion}`;
}

/** Why `tag` / `registry` cannot be released with this chart, or an empty list. */
export function releaseProblems(meta: ReleaseMeta, opts: { tag?: string; registry?: string }): string[] {
  const problems: string[] = [];
  if (opts.tag !== undefined && opts.tag !== `v${meta.chartVersion}`) {
    problems.push(`tag "${opts.tag}" does not name the chart version ${meta.chartVersion}: tag the release v${meta.chartVersion}, or change version in charts/mlflow/Chart.yaml`);
  }
  const repository = opts.registry && `${opts.registry}/${IMAGE_NAME}`;
  if (repository && repository !== meta.defaultRepository) {
    problems.push(
      `this release pushes the image to ${repository}, but the chart's default image.repository is ${meta.defaultRepository}, so a plain helm install would not pull it: ` +
        `set the default in packages/values/src/chart-values.ts and run pnpm sync-chart`,
    );
  }
  return problems;
}

const sha256 = (file: string) => `sha256:${createHash("sha256").update(readFileSync(file)).digest("hex")}`;

export interface ChartRelease {
  /** oci://<registry>/<path>/<name> */
  ref: string;
  version: string;
  /** The manifest digest helm push printed. */
  digest: string | undefined;
  /** sha256 of the packaged .tgz, equal to the one pulled back. */
  archive: string;
}

/** helm package + helm push to `dest` (oci://...), then helm pull it back and compare the archive bytes. */
export async function releaseChart(dest: string, opts: { plainHttp?: boolean; log?: (line: string) => void } = {}): Promise<ChartRelease> {
  if (!/^oci:\/\/[^/]+/.test(dest)) throw new Error(`the chart destination must be an oci:// URL such as oci://ghcr.io/<owner>/charts, got "${dest}"`);
  const log = opts.log ?? (() => {});
  const meta = releaseMeta();
  const tls = opts.plainHttp ? ["--plain-http"] : [];
  const work = mkdtempSync(join(tmpdir(), "mlflow-release-"));
  try {
    const sh = $({ quiet: true });
    await sh`helm package ${CHART} -d ${join(work, "packaged")}`;
    const tgz = join(work, "packaged", `${meta.chartName}-${meta.chartVersion}.tgz`);
    const pushed = await sh`helm push ${tgz} ${dest.replace(/\/$/, "")} ${tls}`;
    const digest = /Digest:\s*(\S+)/.exec(pushed.stdout + pushed.stderr)?.[1];
    const ref = `${dest.replace(/\/$/, "")}/${meta.chartName}`;
    log(`helm push ${meta.chartName}-${meta.chartVersion}.tgz -> ${ref}:${meta.chartVersion}${digest ? ` (${digest})` : ""}`);
    mkdirSync(join(work, "pulled"));
    await sh`helm pull ${ref} --version ${meta.chartVersion} -d ${join(work, "pulled")} ${tls}`;
    const archive = sha256(tgz);
    const pulled = sha256(join(work, "pulled", `${meta.chartName}-${meta.chartVersion}.tgz`));
    if (pulled !== archive) throw new Error(`helm pull ${ref} --version ${meta.chartVersion} returned ${pulled}, not the pushed archive ${archive}`);
    log(`helm pull ${ref} --version ${meta.chartVersion}: the same archive (${archive})`);
    return { ref, version: meta.chartVersion, digest, archive };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`release: ${line}\n`);
  if (command === "meta") {
    const { values } = parseArgs({ args: rest, options: { tag: { type: "string" }, registry: { type: "string" } } });
    const meta = releaseMeta();
    const problems = releaseProblems(meta, values);
    problems.forEach(err);
    if (problems.length) return 1;
    out(`chart_version=${meta.chartVersion}`);
    out(`app_version=${meta.appVersion}`);
    if (values.registry) out(`image=${releaseImage(values.registry, meta)}`);
    return 0;
  }
  if (command === "chart") {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { "plain-http": { type: "boolean", default: false } } });
    if (positionals.length !== 1) {
      err("usage: release.ts chart oci://<registry>/<path> [--plain-http]");
      return 2;
    }
    const r = await releaseChart(positionals[0]!, { plainHttp: values["plain-http"], log: err });
    out(`chart=${r.ref}`);
    out(`chart_digest=${r.digest ?? ""}`);
    return 0;
  }
  err("usage: release.ts meta [--tag vX.Y.Z] [--registry <registry>] | release.ts chart oci://<registry>/<path> [--plain-http]");
  return 2;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`release: ${(e as Error).message}\n`);
    return 1;
  });
}
