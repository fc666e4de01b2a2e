/**
 * One error type for every bad input: each problem names the field, the value it
 * got (secrets redacted) and what would be accepted.
 */
import type { z } from "zod";

export interface Problem {
  /** Dotted field name as the user wrote it, e.g. "dbPort" or "database.port". */
  field: string;
  /** How the user can set it (flag / env var), if known. */
  hint?: string;
  /** The offending value, already redacted when secret; undefined when missing. */
  got?: string;
  /** What is wrong and what would be accepted. */
  message: string;
}

export class ValuesError extends Error {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "ValuesError";
    this.problems = problems;
  }
}

export const REDACTED = "<redacted>";

export function formatProblem(p: Problem): string {
  const where = p.hint ? `${p.field} (${p.hint})` : p.field;
  const got = p.got === undefined ? "" : `: got ${p.got}`;
  return `${where}${got}: ${p.message}`;
}

/** Show a value compactly: strings quoted, long values cut. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/**
 * Turn zod issues into problems. `secret(path)` says whether the value at a path is
 * secret; `hint(path)` gives the flag/env names for it.
 */
export function problemsFromZod(
  error: z.ZodError,
  input: unknown,
  opts: { secret?: (field: string) => boolean; hint?: (field: string) => string | undefined } = {},
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const field = [...path, key].join(".");
        problems.push({ field, message: `is not a known setting${path.length ? ` of ${path.join(".")}` : ""}; check the spelling against the documented keys` });
      }
      continue;
    }
    const field = path.join(".") || "(root)";
    const raw = valueAt(input, issue.path);
    const got = raw === undefined ? undefined : opts.secret?.(field) ? REDACTED : show(raw);
    const hint = opts.hint?.(field);
    problems.push({ field, ...(hint ? { hint } : {}), ...(got === undefined ? {} : { got }), message: messageOf(issue, raw) });
  }
  return problems;
}

function messageOf(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code === "invalid_type" && raw === undefined) return `is required (${issue.expected})`;
  if (issue.code === "invalid_type") return issue.message.startsWith("Invalid input") ? `must be a ${issue.expected}` : issue.message;
  if (issue.code === "invalid_value") return `must be one of: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
  if (issue.code === "invalid_union") {
    // Our unions are "empty string or X": X's own message is the helpful one.
    const inner = issue.errors.flat().find((e) => !(e.code === "invalid_value" && e.values.length === 1 && e.values[0] === ""));
    return inner ? messageOf(inner, raw) : issue.message;
  }
  return issue.message;
}
