/**
 * `go install k8s.io/kubernetes/cmd/...@vX` is refused because k8s.io/kubernetes'
 * go.mod replaces every k8s.io staging module with a local directory. A wrapper
 * module that requires k8s.io/kubernetes at a release and replaces each staging
 * module with its published `v0.<minor>.<patch>` builds the real binaries.
 * This file derives that wrapper go.mod from the release's own go.mod, so the
 * list of staging modules always matches the release.
 */

export interface UpstreamGoMod {
  /** The `go` directive, e.g. "1.24.0". */
  goVersion: string | undefined;
  /** `godebug` lines, verbatim without the keyword (e.g. "default=go1.24"). */
  godebug: string[];
  /** Module paths replaced by a directory under ./staging/. */
  stagingModules: string[];
}

/** Strips `//` comments (go.mod has no block comments). */
function stripComment(line: string): string {
  const i = line.indexOf("//");
  return (i >= 0 ? line.slice(0, i) : line).trim();
}

/** Reads the go directive, godebug lines and staging replaces from a go.mod text. */
export function parseUpstreamGoMod(text: string): UpstreamGoMod {
  let goVersion: string | undefined;
  const godebug: string[] = [];
  const staging = new Set<string>();
  let block: string | undefined;
  for (const raw of text.split("\n")) {
    const line = stripComment(raw);
    if (line === "") continue;
    if (block !== undefined) {
      if (line === ")") {
        block = undefined;
        continue;
      }
      handle(block, line);
      continue;
    }
    const m = /^(\w+)\s*\($/.exec(line);
    if (m) {
      block = m[1];
      continue;
    }
    const sp = line.indexOf(" ");
    if (sp > 0) handle(line.slice(0, sp), line.slice(sp + 1).trim());
  }

  function handle(directive: string | undefined, rest: string): void {
    if (directive === "go") goVersion = rest;
    else if (directive === "godebug") godebug.push(rest);
    else if (directive === "replace") {
      const r = /^(\S+)(?:\s+\S+)?\s*=>\s*(\S+)(?:\s+\S+)?$/.exec(rest);
      if (r && r[2]?.startsWith("./staging/")) staging.add(r[1] as string);
    }
  }

  return { goVersion, godebug, stagingModules: [...staging].sort() };
}

/** "v1.34.4" -> "v0.34.4": the tag the staging modules are published under. */
export function stagingVersion(kubernetesVersion: string): string {
  const m = /^v1\.(\d+)\.(\d+)$/.exec(kubernetesVersion);
  if (!m) throw new Error(`expected a Kubernetes release like v1.34.4, got "${kubernetesVersion}"`);
  return `v0.${m[1]}.${m[2]}`;
}

export interface WrapperOptions {
  /** Module path of the wrapper (anything not on a proxy). */
  module?: string;
  /** Extra requirements, e.g. { "go.etcd.io/etcd/server/v3": "v3.6.4" }. */
  extraRequires?: Record<string, string>;
}

/** Renders the wrapper go.mod that builds k8s.io/kubernetes at `version`. */
export function renderWrapperGoMod(upstream: UpstreamGoMod, version: string, opts: WrapperOptions = {}): string {
  if (upstream.stagingModules.length === 0) {
    throw new Error("the upstream go.mod lists no ./staging/ replaces: is this k8s.io/kubernetes' go.mod?");
  }
  const sv = stagingVersion(version);
  const lines = [`module ${opts.module ?? "mlflow-k8s.local/kube-build"}`, ""];
  if (upstream.goVersion) lines.push(`go ${upstream.goVersion}`, "");
  for (const g of upstream.godebug) lines.push(`godebug ${g}`);
  if (upstream.godebug.length) lines.push("");
  lines.push("require (", `\tk8s.io/kubernetes ${version}`);
  for (const [mod, v] of Object.entries(opts.extraRequires ?? {})) lines.push(`\t${mod} ${v}`);
  lines.push(")", "", "replace (");
  for (const mod of upstream.stagingModules) lines.push(`\t${mod} => ${mod} ${sv}`);
  lines.push(")", "");
  return lines.join("\n");
}

/** The `-ldflags -X` settings upstream's hack/lib/version.sh makes, for one release. */
export function versionLdflags(version: string, buildDate: string, gitCommit = ""): string[] {
  const m = /^v(\d+)\.(\d+)\.\d+/.exec(version);
  if (!m) throw new Error(`not a version: ${version}`);
  const vars: Record<string, string> = {
    gitVersion: version,
    gitMajor: m[1] as string,
    gitMinor: m[2] as string,
    gitTreeState: "clean",
    buildDate,
  };
  if (gitCommit) vars.gitCommit = gitCommit;
  const out: string[] = [];
  for (const pkg of ["k8s.io/client-go/pkg/version", "k8s.io/component-base/version"]) {
    for (const [k, v] of Object.entries(vars)) out.push(`-X ${pkg}.${k}=${v}`);
  }
  return out;
}

// CLI: node gomod.ts <upstream go.mod> <version> [extra-module@version ...]  -> wrapper go.mod on stdout
//      node gomod.ts --ldflags <version> <buildDate>                          -> ldflags on stdout
if (import.meta.main) {
  const { readFileSync } = await import("node:fs");
  const args = process.argv.slice(2);
  if (args[0] === "--ldflags") {
    process.stdout.write(versionLdflags(args[1] ?? "", args[2] ?? new Date().toISOString()).join(" ") + "\n");
  } else {
    const [file, version, ...extra] = args;
    if (!file || !version) {
      console.error("usage: gomod.ts <upstream go.mod> <version> [module@version ...]");
      process.exit(2);
    }
    const extraRequires: Record<string, string> = {};
    for (const e of extra) {
      const at = e.lastIndexOf("@");
      extraRequires[e.slice(0, at)] = e.slice(at + 1);
    }
    process.stdout.write(renderWrapperGoMod(parseUpstreamGoMod(readFileSync(file, "utf8")), version, { extraRequires }));
  }
}
