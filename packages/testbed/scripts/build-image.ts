#!/usr/bin/env node
/**
 * For the integration tier's image suite (test/image.integration.test.ts): builds images/mlflow
 * on the Docker engine the kind provider uses (an engine that answers, e.g. GitHub's runners';
 * else the project's own dockerd, started here as the e2e starts it, FROM its offline Debian
 * base) and prints `MLFLOW_IMAGE=<ref>` and `DOCKER_HOST=<socket>` lines for the shell to export.
 * The tag is the e2e's, so the e2e that follows finds the image built.
 *
 *   build-image.ts          build; exit 3 with the reason on stderr when no engine can be had
 *   build-image.ts --stop   stop the project's dockerd if it runs (the caller started it)
 */
import { join } from "node:path";
import { KindProvider, dockerBuild, stderrLogger } from "@mlflow-k8s/cluster";
import { DEFAULT_IMAGE, trustHostCaBundle } from "../../../e2e/src/phases/image.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const log = stderrLogger("build-image");
const kind = new KindProvider({ log });

if (process.argv.includes("--stop")) {
  await kind.engine.stop();
} else {
  const reason = await kind.engine.unavailableReason();
  if (reason) {
    process.stderr.write(`${reason}\n`);
    process.exit(3);
  }
  const started = !kind.engine.ours() && (await kind.engine.current()) === undefined;
  const target = await kind.engine.ensure();
  const base = await kind.engine.debianBase();
  const context = join(ROOT, "images/mlflow");
  trustHostCaBundle(context);
  log(`docker build ${DEFAULT_IMAGE} FROM ${base}`);
  await dockerBuild(target, { context, tag: DEFAULT_IMAGE, buildArgs: { BASE_IMAGE: base } }, { networkHost: kind.engine.ours(), quiet: true });
  process.stdout.write(`MLFLOW_IMAGE=${DEFAULT_IMAGE}\nDOCKER_HOST=${target.env?.["DOCKER_HOST"] ?? process.env["DOCKER_HOST"] ?? ""}\nSTARTED_ENGINE=${started ? 1 : 0}\n`);
}
