/**
 * Field validators shared by the chart values model and the generator input.
 *
 * Every regex here must compile under both ECMAScript and Go's RE2, because the
 * patterns end up in charts/mlflow/values.schema.json, which Helm evaluates with
 * Go's regexp package: no lookarounds, no backreferences.
 * Rules that RE2 cannot express live in `.superRefine` checks, which only the
 * TypeScript side runs; the schema still catches the shape.
 */
import { isIPv6 } from "node:net";
import { z } from "zod";

const IPV4 = String.raw`(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])`;
const DNS_LABEL = String.raw`[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?`;
const DNS_NAME = String.raw`${DNS_LABEL}(?:\.${DNS_LABEL})*\.?`;
// IPv6 shape only; node:net's isIPv6 does the full parse in the refinement below.
const IPV6 = String.raw`[0-9a-fA-F:]*:[0-9a-fA-F:.]*`;

export const HOST_PATTERN = new RegExp(`^(?:${IPV4}|${IPV6}|${DNS_NAME})$`);
/** gs://bucket[/path]: bucket 3-222 chars of [a-z0-9._-], starting and ending alphanumeric. */
export const GS_URI_PATTERN = /^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](?:\/[^/\s]+)*\/?$/;

export const HOST_ACCEPTS = "an IPv4/IPv6 address or a DNS name (letters, digits, '-' and '.', labels of at most 63 characters)";
export const GS_URI_ACCEPTS = "a URI of the form gs://<bucket>[/<path>] with a valid GCS bucket name";

/** A database or emulator host: an IP address or an RFC 1123 DNS name. */
export const host = () =>
  z
    .string()
    .max(253, { error: `must be at most 253 characters; expected ${HOST_ACCEPTS}` })
    .regex(HOST_PATTERN, { error: `is not a valid host; expected ${HOST_ACCEPTS}` })
    .superRefine((value, ctx) => {
      if (value.includes(":") && !isIPv6(value)) {
        ctx.addIssue({ code: "custom", message: `is not a valid IPv6 address; expected ${HOST_ACCEPTS}` });
      }
    });

export const port = () =>
  z.int({ error: "must be a whole number from 1 to 65535" }).min(1, { error: "must be from 1 to 65535" }).max(65535, {
    error: "must be from 1 to 65535",
  });

export const nodePort = () =>
  z
    .int({ error: "must be a whole number from 30000 to 32767 (the Kubernetes NodePort range)" })
    .min(30000, { error: "must be from 30000 to 32767 (the Kubernetes NodePort range)" })
    .max(32767, { error: "must be from 30000 to 32767 (the Kubernetes NodePort range)" });

/** Names GCS rejects beyond the shape the pattern checks (documented bucket naming rules). */
export function bucketNameProblem(bucket: string): string | undefined {
  const parts = bucket.split(".");
  if (bucket.length > 63 && !bucket.includes(".")) return "bucket names without dots must be 3-63 characters";
  if (parts.some((p) => p.length === 0 || p.length > 63)) return "each dot-separated part of a bucket name must be 1-63 characters";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return "bucket names cannot look like an IP address";
  if (bucket.startsWith("goog")) return "bucket names cannot start with 'goog'";
  if (/g[o0][o0]g(?:l|1)e/.test(bucket)) return "bucket names cannot contain 'google' or close misspellings";
  if (bucket.includes("..") || bucket.includes(".-") || bucket.includes("-.")) return "bucket name parts must start and end with a letter or digit";
  return undefined;
}

export const gsUri = () =>
  z
    .string()
    .regex(GS_URI_PATTERN, { error: `is not a valid GCS URI; expected ${GS_URI_ACCEPTS}` })
    .superRefine((value, ctx) => {
      const bucket = value.slice("gs://".length).split("/")[0] ?? "";
      const problem = bucketNameProblem(bucket);
      if (problem) ctx.addIssue({ code: "custom", message: `has an invalid bucket name '${bucket}': ${problem}` });
      const segments = value.slice("gs://".length).split("/").slice(1);
      if (segments.some((s) => s === "." || s === "..")) {
        ctx.addIssue({ code: "custom", message: "must not contain '.' or '..' path segments" });
      }
    });

/** Kubernetes resource names (RFC 1123 subdomain), e.g. Secret names. */
export const K8S_NAME_PATTERN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
export const k8sName = () =>
  z
    .string()
    .max(253)
    .regex(K8S_NAME_PATTERN, {
      error: "is not a valid Kubernetes name; expected lowercase letters, digits, '-' and '.', starting and ending alphanumeric",
    });

/** Keys inside a Secret's data. */
export const SECRET_KEY_PATTERN = /^[-._a-zA-Z0-9]+$/;
export const secretKey = () =>
  z.string().min(1).max(253).regex(SECRET_KEY_PATTERN, { error: "is not a valid Secret key; expected letters, digits, '-', '_' and '.'" });

/** Kubernetes quantities such as 500m, 1, 512Mi, 2Gi. */
export const QUANTITY_PATTERN = /^[0-9]+(?:\.[0-9]+)?(?:m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
export const quantity = () =>
  z.union([
    z.string().regex(QUANTITY_PATTERN, { error: "is not a Kubernetes quantity; expected e.g. 500m, 1, 512Mi, 2Gi" }),
    z.number().positive(),
  ]);


/** An image digest as registries print it: sha256:<64 lowercase hex>. */
export const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;
export const digest = () =>
  z.union([z.literal(""), z.string().regex(DIGEST_PATTERN, { error: "is not an image digest; expected sha256:<64 lowercase hex digits>, or empty" })]);

/** A Cloud SQL instance connection name: [domain:]project:region:instance. */
export const INSTANCE_CONNECTION_NAME_PATTERN = /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]*[a-z0-9]:[a-z]+-[a-z]+[0-9]+:[a-z][a-z0-9-]*$/;
export const instanceConnectionName = () =>
  z.string().regex(INSTANCE_CONNECTION_NAME_PATTERN, {
    error: "is not a Cloud SQL instance connection name; expected <project>:<region>:<instance>, e.g. my-project:europe-west1:mlflow-db",
  });
