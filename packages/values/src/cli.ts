#!/usr/bin/env node
/**
 * mlflow-values: writes MLflow chart values (and, when asked, the DB password Secret)
 * from flags, MLFLOW_* environment variables or a config file (lowest precedence).
 * Exit codes: 0 written, 2 bad input (nothing written), 1 anything else.
 */
import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import YAML from "yaml";
import { formatProblem, ValuesError } from "./errors.ts";
import {
  INPUT_FIELDS,
  buildChartValues,
  checkPassword,
  parseGeneratorInput,
  parsePasswordSource,
  renderSecretManifest,
  renderValuesFile,
  validateChartValues,
  type InputField,
} from "./generator.ts";
import { readPassword } from "./password.ts";
import { writeAllOrNothing, type OutputFile } from "./write-files.ts";

export async function main(argv: string[]): Promise<number> {
  const program = new Command("mlflow-values")
    .description("Generate values for the MLflow Helm chart (charts/mlflow) and, optionally, the DB password Secret.")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const generate = program
    .command("generate", { isDefault: true })
    .description("Write a values file (and a Secret manifest with --secret-out). Precedence: flags > MLFLOW_* env > --config file.")
    .option("-c, --config <file>", "YAML or JSON file with the same keys as the flags, in camelCase (e.g. gcsUri, dbHost)")
    .option("-o, --out <file>", "where to write the values ('-' for stdout)", "mlflow-values.yaml")
    .option("--secret-out <file>", "also write a Secret manifest holding the DB password (mode 0600); needs a password source")
    .option("--force", "replace output files that already exist", false);
  for (const field of INPUT_FIELDS) generate.addOption(optionFor(field));

  generate.action(async (opts: Record<string, unknown>) => {
    const raw = { ...readConfig(opts.config as string | undefined), ...inputFromOptions(generate, opts) };
    const input = parseGeneratorInput(raw);
    const { values, secret } = buildChartValues(input);
    const files: OutputFile[] = [];
    const secretOut = opts.secretOut as string | undefined;
    if (secretOut) {
      if (!secret) throw new ValuesError([{ field: "secretOut", hint: "--secret-out", message: "cannot be used with --db-auth iam: IAM database authentication uses no password" }]);
      if (!secret.create) {
        throw new ValuesError([{ field: "secretOut", hint: "--secret-out", message: `cannot be used with --password-from secret:…; the Secret ${secret.name} already exists` }]);
      }
      const spec = input.passwordFrom ?? (process.stdin.isTTY ? "prompt" : undefined);
      if (!spec) {
        throw new ValuesError([{ field: "passwordFrom", hint: "--password-from / MLFLOW_PASSWORD_FROM", message: "is required with --secret-out when stdin is not a terminal: use stdin, env:<VAR> or prompt" }]);
      }
      const source = parsePasswordSource(spec);
      const password = await readPassword(source);
      checkPassword(password, `--password-from ${spec}`);
      files.push({ path: secretOut, content: renderSecretManifest({ name: secret.name, key: secret.key, password, namespace: input.namespace }), mode: 0o600 });
    }
    const valuesText = renderValuesFile(values);
    const out = opts.out as string;
    if (out !== "-") files.push({ path: out, content: valuesText });
    writeAllOrNothing(files, { force: Boolean(opts.force) });
    if (out === "-") process.stdout.write(valuesText);
    for (const file of files) process.stderr.write(`wrote ${file.path}\n`);
    if (secret?.create && !secretOut) {
      process.stderr.write(
        `The values refer to Secret ${secret.name} (key ${secret.key}). Create it before helm install, e.g. with --secret-out, ` +
          `or: kubectl create secret generic ${secret.name} --from-file=${secret.key}=<file holding only the password>\n`,
      );
    }
  });

  program
    .command("check <values-file>")
    .description("Validate a values file against the chart's model (the same rules as values.schema.json plus install requirements)")
    .action((file: string) => {
      const values = YAML.parse(readFileSync(file, "utf8")) ?? {};
      validateChartValues(values);
      process.stderr.write(`${file}: valid\n`);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    return reportError(error);
  }
}

function optionFor(field: InputField): Option {
  const option =
    field.kind === "boolean" ? new Option(field.flag, field.description) : new Option(`${field.flag} <${field.kind === "list" ? "items" : "value"}>`, field.description);
  return option.env(field.env);
}

/** Only options the user set (flag or env), converted to the field's type. */
function inputFromOptions(command: Command, opts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of INPUT_FIELDS) {
    const source = command.getOptionValueSource(field.key);
    const value = opts[field.key];
    if (value === undefined || (source !== "cli" && source !== "env")) continue;
    out[field.key] = convert(field, value);
  }
  return out;
}

function convert(field: InputField, value: unknown): unknown {
  if (typeof value !== "string") return value;
  switch (field.kind) {
    case "int":
      // Leave anything that is not a plain integer as a string: the schema then names the bad value.
      return /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
    case "boolean":
      return ["1", "true", "yes"].includes(value.toLowerCase()) ? true : ["0", "false", "no", ""].includes(value.toLowerCase()) ? false : value;
    case "list":
      return value.split(",").map((s) => s.trim()).filter(Boolean);
    default:
      return value;
  }
}

function readConfig(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ValuesError([{ field: "config", hint: "--config", got: JSON.stringify(path), message: `cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})` }]);
  }
  let parsed: unknown;
  try {
    parsed = YAML.parse(text);
  } catch (error) {
    throw new ValuesError([{ field: "config", hint: "--config", got: JSON.stringify(path), message: `is not valid YAML/JSON: ${(error as Error).message.split("\n")[0]}` }]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ValuesError([{ field: "config", hint: "--config", got: JSON.stringify(path), message: "must contain a mapping of settings (e.g. gcsUri: gs://bucket/path)" }]);
  }
  return parsed as Record<string, unknown>;
}

function reportError(error: unknown): number {
  if (error instanceof ValuesError) {
    process.stderr.write(`mlflow-values: invalid input, nothing was written:\n${error.problems.map((p) => `  - ${formatProblem(p)}`).join("\n")}\n`);
    return 2;
  }
  const code = (error as { code?: string }).code;
  if (typeof code === "string" && code.startsWith("commander.")) {
    // commander already printed its message (or help/version).
    return code === "commander.helpDisplayed" || code === "commander.version" || code === "commander.help" ? 0 : 2;
  }
  process.stderr.write(`mlflow-values: ${(error as Error).message ?? String(error)}\n`);
  return 1;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
