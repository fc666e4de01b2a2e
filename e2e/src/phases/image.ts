/**
 * Phase 3: build the MLflow image from images/mlflow (or take --image) and load it into the
 * cluster. With kind that is the release path's image half against kind's local registry:
 * the image is built under the name a release publishes (release.ts), then `docker push`ed to
 * <registry>/mlflow:<appVersion> and pulled from there by the pods.
 */
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { need, type Ctx } from "../context.ts";
import { releaseMeta } from "../release.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

/** The chart's appVersion: the image is tagged with it, as the chart expects by default. */
export function appVersion(): string {
  return releaseMeta().appVersion;
}

const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

/**
 * pip in a `docker build` of `contextDir` trusts the host's CA bundle (needed where PyPI is
 * reached through a TLS-intercepting proxy): copied in as build-ca-certificates.crt, which the
 * Dockerfiles keep in the build stage only and git ignores.
 */
export function trustHostCaBundle(contextDir: string): void {
  if (existsSync(HOST_CA_BUNDLE)) copyFileSync(HOST_CA_BUNDLE, join(contextDir, "build-ca-certificates.crt"));
}

/** The image a release publishes, which the chart pulls by default (release.yml pushes it to GHCR). */
export const DEFAULT_IMAGE = `${releaseMeta().defaultRepository}:${appVersion()}`;

export async function image(ctx: Ctx): Promise<void> {
  const provider = need(ctx, "provider", "preflight");
  ctx.image = ctx.opts.image ?? DEFAULT_IMAGE;
  if (!ctx.opts.image) {
    if (!provider.buildImage) throw new Error(`provider ${provider.name} cannot build images: build images/mlflow yourself and pass --image (pushed to a registry the cluster pulls from), or give --registry`);
    trustHostCaBundle(`${ROOT}images/mlflow`);
    await provider.buildImage({ context: `${ROOT}images/mlflow`, tag: ctx.image });
    ctx.log(`  built ${ctx.image}`);
  }
  const built = ctx.image;
  ctx.image = await provider.loadImage(built);
  ctx.log(ctx.image === built ? `  ${ctx.image} is in the cluster` : `  pushed as ${ctx.image}; pods pull it from the cluster's registry`);
}
