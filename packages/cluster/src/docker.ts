/**
 * Docker helpers shared by the providers and the bench: run the CLI against a chosen daemon
 * (a DockerTarget: the ambient one, or the project's own dockerd through DOCKER_HOST) and
 * build an image from a Dockerfile directory.
 */
import { $, type Options } from "zx";
import type { ImageBuildSpec } from "./provider.ts";
import { assertPinnedTag } from "./offline-images.ts";
import { existsSync } from "node:fs";

export interface DockerTarget {
  /** Docker CLI to run ("docker" or Debian's /usr/bin/docker). */
  bin: string;
  /** Extra environment, e.g. { DOCKER_HOST: "unix:///…/docker.sock" }. */
  env: Record<string, string>;
}

export const ambientDocker: DockerTarget = { bin: "docker", env: {} };

/** zx's `$` talking to `target`'s daemon (its DOCKER_HOST), quiet unless told otherwise. */
export function docker$(target: DockerTarget, opts: Partial<Options> = {}) {
  return $({ env: { ...process.env, ...target.env }, quiet: true, ...opts });
}

/** Argument list for `docker build` (pure, for tests). */
export function dockerBuildArgs(spec: ImageBuildSpec, opts: { networkHost?: boolean } = {}): string[] {
  assertPinnedTag(spec.tag);
  const args = ["build", "-t", spec.tag];
  if (spec.dockerfile) args.push("-f", spec.dockerfile);
  for (const [k, v] of Object.entries(spec.buildArgs ?? {})) args.push("--build-arg", `${k}=${v}`);
  if (opts.networkHost) args.push("--network", "host");
  args.push(spec.context);
  return args;
}

export async function dockerBuild(target: DockerTarget, spec: ImageBuildSpec, opts: { networkHost?: boolean; quiet?: boolean } = {}): Promise<void> {
  if (!existsSync(spec.context)) throw new Error(`docker build context ${spec.context} does not exist`);
  const r = await docker$(target, { quiet: opts.quiet ?? false, verbose: false })`${target.bin} ${dockerBuildArgs(spec, opts)}`.nothrow();
  if (r.exitCode !== 0) {
    // The step that failed and its output are at the end; the legacy builder's deprecation notice is at the start.
    const tail = (r.stdout + r.stderr).trim().split("\n").slice(-25).join("\n");
    throw new Error(`docker build ${spec.tag} failed (exit ${r.exitCode}):\n${tail}`);
  }
}

/** Where `imageRef` goes in `registry`: the same name and tag under the registry host ("mlflow-k8s/mlflow:1" -> "<registry>/mlflow:1"). */
export function registryRef(imageRef: string, registry: string): string {
  return `${registry}/${imageRef.slice(imageRef.lastIndexOf("/") + 1)}`;
}

/** `docker tag` + `docker push` of a local image to registryRef(imageRef, registry); returns that reference. */
export async function pushToRegistry(target: DockerTarget, imageRef: string, registry: string): Promise<string> {
  const pushed = registryRef(imageRef, registry);
  await docker$(target)`${target.bin} tag ${imageRef} ${pushed}`;
  await docker$(target)`${target.bin} push ${pushed}`;
  return pushed;
}

export async function dockerHasImage(target: DockerTarget, ref: string): Promise<boolean> {
  const r = await docker$(target)`${target.bin} image inspect ${ref}`.nothrow();
  return r.exitCode === 0;
}
