/**
 * Reads a YAML/JSON file the user named. Every failure is bad input (exit 2) naming the
 * file; a YAML error reports only its position and code, never the parser's context
 * lines, which could quote a `password:` line.
 */
import { readFileSync } from "node:fs";
import YAML, { YAMLError } from "yaml";
import { ValuesError } from "./errors.ts";

export function readYamlFile(path: string, where: { field: string; hint?: string }): unknown {
  const problem = (message: string) => new ValuesError([{ ...where, got: JSON.stringify(path), message }]);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw problem(code === "ENOENT" ? "does not exist" : `cannot be read (${code})`);
  }
  try {
    return YAML.parse(text);
  } catch (error) {
    if (!(error instanceof YAMLError)) throw error;
    const at = error.linePos?.[0];
    throw problem(`is not valid YAML/JSON${at ? ` at line ${at.line}, column ${at.col}` : ""} (${error.code}); the offending line is not shown because it may hold a secret`);
  }
}
