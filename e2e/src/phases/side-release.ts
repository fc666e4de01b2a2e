/**
 * A second release next to the main one, for the upgrade phases: its own database and
 * user on the e2e's PostgreSQL (so its schema and data are its own) and values derived
 * from the main release's generated values file, written 0600 (they may hold a password).
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { need, type Ctx } from "../context.ts";
import type { Kube } from "../kube.ts";
import type { Tools } from "../tools.ts";
import { newPassword } from "./dependencies.ts";

export type Values = Record<string, Record<string, unknown>>;

export interface SideRelease {
  tools: Tools;
  kube: Kube;
  namespace: string;
  release: string;
  password: string;
  valuesFile: string;
  /** helm flags: namespace, values file, --wait with the e2e's timeout. */
  helmArgs: string[];
  /** Uninstall and remove the values file. */
  remove(): Promise<void>;
}

export async function sideRelease(ctx: Ctx, suffix: string, edit: (values: Values, db: { database: string; user: string; password: string }) => void): Promise<SideRelease> {
  const tools = need(ctx, "tools", "cluster");
  const kube = need(ctx, "kube", "cluster");
  const namespace = ctx.opts.namespace;
  const release = `${ctx.opts.release}-${suffix}`;
  const password = newPassword();
  const name = `mlflow_${suffix}`;
  const conn = await need(ctx, "db", "dependencies").createUserAndDatabase(name, password, name);
  const values = YAML.parse(readFileSync(need(ctx, "valuesFile", "values"), "utf8")) as Values;
  values.database = { ...values.database, name: conn.database, user: conn.user };
  // The main release holds the first published NodePort; a side release takes the second (kind), or any.
  values.service = { ...values.service, nodePort: ctx.cluster?.nodePorts?.[1] ?? null };
  edit(values, { database: conn.database, user: conn.user, password });
  const valuesFile = join(ctx.workDir, `${release}-values.yaml`);
  writeFileSync(valuesFile, YAML.stringify(values), { mode: 0o600 });
  return {
    tools,
    kube,
    namespace,
    release,
    password,
    valuesFile,
    helmArgs: ["-n", namespace, "-f", valuesFile, "--wait", "--timeout", `${ctx.opts.timeoutSeconds}s`],
    async remove() {
      rmSync(valuesFile, { force: true });
      await tools.helm(["uninstall", release, "-n", namespace, "--wait", "--ignore-not-found"]).nothrow();
    },
  };
}
