/**
 * On failure: pod logs, events, `describe` of the Deployment and pods, and
 * `helm status` go into the artifacts folder, each with the DB password redacted.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Tools } from "./tools.ts";

export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets.filter((s) => s.length >= 4)) out = out.split(secret).join("<redacted>");
  return out;
}

export async function collectDiagnostics(tools: Tools, opts: { dir: string; namespace: string; release: string; secrets: string[]; log: (s: string) => void }): Promise<void> {
  mkdirSync(opts.dir, { recursive: true });
  const ns = ["-n", opts.namespace];
  const captures: [string, Promise<{ stdout: string; stderr: string }>][] = [
    ["events.txt", tools.kubectl(["get", "events", ...ns, "--sort-by=.lastTimestamp"]).nothrow()],
    ["describe-deployment.txt", tools.kubectl(["describe", "deployment", ...ns, "-l", `app.kubernetes.io/instance=${opts.release}`]).nothrow()],
    ["describe-pods.txt", tools.kubectl(["describe", "pods", ...ns]).nothrow()],
    ["pods.txt", tools.kubectl(["get", "pods", ...ns, "-o", "wide"]).nothrow()],
    ["logs.txt", tools.kubectl(["logs", ...ns, "-l", `app.kubernetes.io/instance=${opts.release}`, "--all-containers", "--prefix", "--tail=500"]).nothrow()],
    ["logs-previous.txt", tools.kubectl(["logs", ...ns, "-l", `app.kubernetes.io/instance=${opts.release}`, "--all-containers", "--prefix", "--previous", "--tail=500"]).nothrow()],
    ["helm-status.txt", tools.helm(["status", opts.release, ...ns]).nothrow()],
  ];
  for (const [file, promise] of captures) {
    const r = await promise;
    writeFileSync(join(opts.dir, file), redact(`${r.stdout}${r.stderr ? `\n--- stderr ---\n${r.stderr}` : ""}`, opts.secrets));
  }
  opts.log(`diagnostics saved in ${opts.dir}: ${captures.map(([f]) => f).join(", ")}`);
}
