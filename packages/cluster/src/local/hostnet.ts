/**
 * Host networking the local cluster changes, recorded so `down` undoes exactly that:
 * our bridge, two FORWARD ACCEPT rules for the pod subnet (a running dockerd sets the
 * FORWARD policy to DROP), the KUBE-* / CNI-* chains kubelet, kube-proxy and portmap
 * create, and two sysctls (restored to their previous values).
 */
import { $ } from "zx";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { LocalClusterSettings } from "./layout.ts";

export const RULE_COMMENT = "mlflow-k8s-local";
const q = () => $({ quiet: true });

export type ChainSnapshot = Record<string, string[]>; // table -> chain names

/** Chains we consider created by the cluster's components. */
export function isClusterChain(name: string): boolean {
  return name.startsWith("KUBE-") || name.startsWith("CNI-");
}

/** Parses `iptables-save` output into table -> chain names. */
export function parseChains(save: string): ChainSnapshot {
  const out: ChainSnapshot = {};
  let table = "";
  for (const line of save.split("\n")) {
    if (line.startsWith("*")) {
      table = line.slice(1).trim();
      out[table] = [];
    } else if (line.startsWith(":") && table) {
      const name = line.slice(1).split(" ")[0];
      if (name) out[table]?.push(name);
    }
  }
  return out;
}

/**
 * Rules (as `-A chain ...` specs) in `save` that jump to a chain in `ours`, and the chains
 * to flush and delete, for one table. Rules inside our own chains go with the chains.
 */
export function cleanupPlan(save: string, table: string, ours: Set<string>): { rules: string[]; chains: string[] } {
  const rules: string[] = [];
  let current = "";
  for (const line of save.split("\n")) {
    if (line.startsWith("*")) current = line.slice(1).trim();
    if (current !== table || !line.startsWith("-A ")) continue;
    const chain = line.split(" ")[1] ?? "";
    if (ours.has(chain)) continue;
    const target = /\s-[jg]\s+(\S+)/.exec(line)?.[1];
    if (target && ours.has(target)) rules.push(line);
  }
  return { rules, chains: [...ours] };
}

async function save(bin: "iptables" | "ip6tables"): Promise<string> {
  const r = await q()`${bin}-save`.nothrow();
  return r.exitCode === 0 ? r.stdout : "";
}

export async function snapshotChains(): Promise<{ v4: ChainSnapshot; v6: ChainSnapshot }> {
  return { v4: parseChains(await save("iptables")), v6: parseChains(await save("ip6tables")) };
}

/** Deletes KUBE-* / CNI-* chains that did not exist in `before`, and the rules jumping to them. */
export async function removeClusterChains(before: { v4: ChainSnapshot; v6: ChainSnapshot }): Promise<string[]> {
  const removed: string[] = [];
  for (const [bin, snap] of [["iptables", before.v4], ["ip6tables", before.v6]] as const) {
    const now = await save(bin);
    const current = parseChains(now);
    for (const [table, chains] of Object.entries(current)) {
      const pre = new Set(snap[table] ?? []);
      const ours = new Set(chains.filter((c) => isClusterChain(c) && !pre.has(c)));
      if (ours.size === 0) continue;
      const plan = cleanupPlan(now, table, ours);
      for (const rule of plan.rules) {
        const spec = splitRule(rule.replace(/^-A /, ""));
        await q()`${bin} -w -t ${table} -D ${spec}`.nothrow();
      }
      for (const c of plan.chains) await q()`${bin} -w -t ${table} -F ${c}`.nothrow();
      for (const c of plan.chains) {
        const r = await q()`${bin} -w -t ${table} -X ${c}`.nothrow();
        if (r.exitCode === 0) removed.push(`${bin}/${table}/${c}`);
      }
    }
  }
  return removed;
}

/** Splits an iptables-save rule into argv, honouring double quotes (comments). */
export function splitRule(rule: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(rule))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] as string));
  return out;
}

/** The FORWARD rules we add: accept pod traffic even when the policy is DROP. */
export function forwardRules(s: LocalClusterSettings): string[][] {
  return [
    ["FORWARD", "-s", s.podSubnet, "-m", "comment", "--comment", RULE_COMMENT, "-j", "ACCEPT"],
    ["FORWARD", "-d", s.podSubnet, "-m", "comment", "--comment", RULE_COMMENT, "-j", "ACCEPT"],
  ];
}

export async function addForwardRules(s: LocalClusterSettings): Promise<void> {
  for (const [chain, ...rest] of forwardRules(s)) {
    const has = await q()`iptables -w -C ${chain} ${rest}`.nothrow();
    if (has.exitCode !== 0) await q()`iptables -w -I ${chain} 1 ${rest}`;
  }
}

export async function removeForwardRules(s: LocalClusterSettings): Promise<number> {
  let n = 0;
  for (const [chain, ...rest] of forwardRules(s)) {
    for (let i = 0; i < 10; i++) {
      const r = await q()`iptables -w -D ${chain} ${rest}`.nothrow();
      if (r.exitCode !== 0) break;
      n++;
    }
  }
  return n;
}

export async function linkExists(name: string): Promise<boolean> {
  return existsSync(`/sys/class/net/${name}`);
}

/** Creates our bridge with the gateway address, so the host address for pods exists before any pod. */
export async function ensureBridge(s: LocalClusterSettings): Promise<boolean> {
  const prefix = s.podSubnet.split("/")[1];
  let created = false;
  if (!(await linkExists(s.bridge))) {
    await q()`ip link add name ${s.bridge} type bridge`;
    created = true;
  }
  const addrs = (await q()`ip -o -4 addr show dev ${s.bridge}`).stdout;
  if (!addrs.includes(` ${s.gateway}/`)) await q()`ip addr add ${s.gateway}/${prefix} dev ${s.bridge}`;
  await q()`ip link set ${s.bridge} up`;
  return created;
}

/** Host ends of pod veths still attached to our bridge. */
export async function bridgePorts(bridge: string): Promise<string[]> {
  const r = await q()`ip -o link show master ${bridge}`.nothrow();
  if (r.exitCode !== 0) return [];
  return r.stdout
    .split("\n")
    .map((l) => /^\d+:\s+([^@:]+)/.exec(l)?.[1])
    .filter((x): x is string => !!x);
}

export async function deleteBridge(bridge: string): Promise<string[]> {
  const removed: string[] = [];
  for (const port of await bridgePorts(bridge)) {
    if ((await q()`ip link del ${port}`.nothrow()).exitCode === 0) removed.push(port);
  }
  if (await linkExists(bridge)) {
    await q()`ip link del ${bridge}`.nothrow();
    removed.push(bridge);
  }
  return removed;
}

export const SYSCTLS = ["net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables"];

export function readSysctls(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of SYSCTLS) {
    const f = `/proc/sys/${k}`;
    if (existsSync(f)) out[k] = readFileSync(f, "utf8").trim();
  }
  return out;
}

export function setSysctls(values: Record<string, string>): void {
  for (const [k, v] of Object.entries(values)) {
    const f = `/proc/sys/${k}`;
    if (existsSync(f) && readFileSync(f, "utf8").trim() !== v) writeFileSync(f, v);
  }
}
