/**
 * "The password is nowhere": every object and log of a namespace that is not a Secret,
 * plus whatever was captured earlier (hook Jobs and their logs, which helm deletes),
 * searched for every form the password can take (packages/testbed secret-forms.ts: raw,
 * URL-encoded as the entrypoint's Python quote() does it, base64 at any alignment,
 * JSON-escaped, sha256). Only the names of places and forms are ever printed.
 */
import { findSecretForms } from "@mlflow-k8s/testbed";
import type { Tools } from "./tools.ts";

export type Place = [what: string, text: string];

export async function namespacePlaces(tools: Tools, namespace: string): Promise<Place[]> {
  const places: [string, string[]][] = [
    ["ConfigMaps", ["get", "configmaps", "-n", namespace, "-o", "json"]],
    ["pods (specs, args, env, annotations)", ["get", "pods", "-n", namespace, "-o", "json"]],
    ["Deployments, ReplicaSets, Jobs, Services", ["get", "deployments,replicasets,jobs,services,serviceaccounts", "-n", namespace, "-o", "json"]],
    ["events", ["get", "events", "-n", namespace, "-o", "json"]],
    ["pod logs", ["logs", "-n", namespace, "-l", "app.kubernetes.io/name=mlflow", "--all-containers", "--tail=-1", "--max-log-requests=20"]],
  ];
  const out: Place[] = [];
  for (const [what, args] of places) out.push([what, (await tools.kubectl(args)).stdout]);
  return out;
}

/** Throws naming every place and form where the password was found. */
export function assertPasswordNowhere(password: string, places: Place[]): string[] {
  const found = places.flatMap(([what, text]) => {
    const forms = findSecretForms(text, password);
    return forms.length ? [`${what} (${forms.join(", ")})`] : [];
  });
  if (found.length) throw new Error(`the DB password appears in: ${found.join("; ")}`);
  return places.map(([what]) => what);
}
