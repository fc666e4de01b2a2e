/** Phase 3: build the MLflow image from images/mlflow (or take --image) and load it into the cluster. */
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import YAML from "yaml";
import { need, type Ctx } from "../context.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

/** The chart's appVersion: the image is tagged with it, as the chart expects by default. */
export function appVersion(): string {
  const chart = YAML.parse(readFileSync(`${ROOT}charts/mlflow/Chart.yaml`, "utf8")) as { appVersion: string };
  return String(chart.appVersion);
}

const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

export const DEFAULT_IMAGE = `ghcr.io/mlflow-k8s/mlflow:${appVersion()}`;

export async function image(ctx: Ctx): Promise<void> {
  const provider = need(ctx, "provider", "preflight");
  ctx.image = ctx.opts.image ?? DEFAULT_IMAGE;
  if (!ctx.opts.image) {
    if (!provider.buildImage) throw new Error(`provider ${provider.name} cannot build images: build images/mlflow yourself and pass --image (pushed to a registry the cluster pulls from), or give --registry`);
    // pip in the build trusts the host's CA bundle (needed where PyPI is reached through a
    // TLS-intercepting proxy); the Dockerfile keeps it in the build stage only, and git ignores it.
    if (existsSync(HOST_CA_BUNDLE)) copyFileSync(HOST_CA_BUNDLE, `${ROOT}images/mlflow/build-ca-certificates.crt`);
    await provider.buildImage({ context: `${ROOT}images/mlflow`, tag: ctx.image });
    ctx.log(`  built ${ctx.image}`);
  }
  const built = ctx.image;
  ctx.image = await provider.loadImage(built);
  ctx.log(ctx.image === built ? `  ${ctx.image} is in the cluster` : `  pushed as ${ctx.image}; pods pull it from the cluster's registry`);
}
