/**
 * Certificates and kubeconfigs for the local cluster, made with openssl. One CA signs
 * every component's certificate; the service-account key pair signs pod tokens.
 * Keys never appear on a command line or in a log: openssl reads and writes files.
 */
import { $ } from "zx";
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import type { LocalClusterSettings, Paths } from "./layout.ts";
import { certSpecs, renderCertExtensions, renderKubeconfig, subject } from "./render.ts";

const DAYS = "3650";

/** Creates any missing key/cert under pki/ (existing ones are kept, so restarts reuse them). */
export async function ensurePki(s: LocalClusterSettings, p: Paths): Promise<void> {
  mkdirSync(p.pki, { recursive: true, mode: 0o700 });
  const f = (n: string) => join(p.pki, n);
  const q = $({ quiet: true });
  if (!existsSync(f("ca.crt"))) {
    await q`openssl genrsa -out ${f("ca.key")} 2048`;
    await q`openssl req -x509 -new -key ${f("ca.key")} -sha256 -days ${DAYS} -subj /CN=mlflow-k8s-local-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature -out ${f("ca.crt")}`;
  }
  if (!existsSync(f("sa.key"))) {
    await q`openssl genrsa -out ${f("sa.key")} 2048`;
    await q`openssl rsa -in ${f("sa.key")} -pubout -out ${f("sa.pub")}`;
  }
  for (const spec of certSpecs(s)) {
    if (existsSync(f(`${spec.name}.crt`))) continue;
    writeFileSync(f(`${spec.name}.ext`), renderCertExtensions(spec));
    await q`openssl genrsa -out ${f(`${spec.name}.key`)} 2048`;
    await q`openssl req -new -key ${f(`${spec.name}.key`)} -subj ${subject(spec)} -out ${f(`${spec.name}.csr`)}`;
    await q`openssl x509 -req -in ${f(`${spec.name}.csr`)} -CA ${f("ca.crt")} -CAkey ${f("ca.key")} -CAcreateserial -days ${DAYS} -sha256 -extfile ${f(`${spec.name}.ext`)} -out ${f(`${spec.name}.crt`)}`;
  }
  await q`chmod 600 ${(await q`ls ${p.pki}`).stdout.split("\n").filter((n) => n.endsWith(".key")).map(f)}`.nothrow();
}

/** kubeconfig file name -> certificate stem. */
const KUBECONFIGS: Record<string, string> = {
  "admin.conf": "admin",
  "controller-manager.conf": "controller-manager",
  "scheduler.conf": "scheduler",
  "kube-proxy.conf": "kube-proxy",
  "kubelet.conf": "kubelet-client",
};

export const CONTEXT = "mlflow-k8s-local";

export function writeKubeconfigs(s: LocalClusterSettings, p: Paths): void {
  mkdirSync(p.kubeconfigs, { recursive: true, mode: 0o700 });
  const ca = readFileSync(join(p.pki, "ca.crt"), "utf8");
  for (const [file, stem] of Object.entries(KUBECONFIGS)) {
    const out = join(p.kubeconfigs, file);
    writeFileSync(
      out,
      renderKubeconfig({
        cluster: CONTEXT,
        context: CONTEXT,
        server: `https://127.0.0.1:${s.apiServerPort}`,
        caPem: ca,
        user: stem,
        certPem: readFileSync(join(p.pki, `${stem}.crt`), "utf8"),
        keyPem: readFileSync(join(p.pki, `${stem}.key`), "utf8"),
      }),
      { mode: 0o600 },
    );
    chmodSync(out, 0o600);
  }
}
