#!/usr/bin/env node
/**
 * mlflow-values: writes MLflow chart values (and, when asked, the DB password Secret)
 * from flags, MLFLOW_* environment variables or a config file (lowest precedence).
 * Exit codes: 0 written, 2 bad input (nothing written), 1 anything else.
 */
import { Command, Option } from "commander";
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
import { readYamlFile } from "./read-yaml.ts";
import { checkOutputs, writeAllOrNothing, type OutputFile } from "./write-files.ts";

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
    const out = opts.out as string;
    const valuesTarget = { path: out, field: "out", hint: "-o / --out" };
    const secretTarget = { path: secretOut ?? "", field: "secretOut", hint: "--secret-out" };
    // Before any password prompt: a bad output path should not cost the user a typed password.
    checkOutputs([...(secretOut ? [secretTarget] : []), ...(out === "-" ? [] : [valuesTarget])], Boolean(opts.force));
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
      files.push({ ...secretTarget, content: renderSecretManifest({ name: secret.name, key: secret.key, password, namespace: input.namespace }), mode: 0o600 });
    }
    const valuesText = renderValuesFile(values);
    if (out !== "-") files.push({ ...valuesTarget, content: valuesText });
    writeAllOrNothing(files, { force: Boolean(opts.force) });
    if (out === "-") process.stdout.write(valuesText);
    for (const file of files) process.stderr.write(`wrote ${file.path}\n`);
    if (secret?.create && !secretOut) {
      process.stderr.write(
        `The values refer to Secret ${secret.name} (key ${secret.key}). Create it before helm install, e.g. with --secret-out, ` +
          `or type it at a prompt (nothing lands in your shell history, no trailing newline is added): ` +
          `read -rs PW && printf %s "$PW" | kubectl create secret generic ${secret.name} --from-file=${secret.key}=/dev/stdin; unset PW\n`,
      );
    }
  });

  program
    .command("check <values-file>")
    .description("Validate a values file against the chart's model (the same rules as values.schema.json plus install requirements)")
    .action((file: string) => {
      const values = readYamlFile(file, { field: "values-file", hint: "check <values-file>" }) ?? {};
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
  // commander turns a boolean flag on whenever its variable is set (even to "false"): booleans read their variable in inputFromOptions.
  if (field.kind === "boolean") return new Option(field.flag, `${field.description} (env: ${field.env}=true|false)`);
  return new Option(`${field.flag} <${field.kind === "list" ? "items" : "value"}>`, field.description).env(field.env);
}

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, "1": true, yes: true, false: false, "0": false, no: false };

/** An environment variable holding a boolean: true/false/1/0/yes/no (any case); anything else is bad input. */
export function envBoolean(field: InputField, value: string): boolean {
  const parsed = BOOLEAN_WORDS[value.trim().toLowerCase()];
  if (parsed === undefined) {
    throw new ValuesError([{ field: field.key, hint: field.env, got: JSON.stringify(value), message: "must be one of true, false, 1, 0, yes, no" }]);
  }
  return parsed;
}

/** Only options the user set (flag or env), converted to the field's type. */
function inputFromOptions(command: Command, opts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of INPUT_FIELDS) {
    const source = command.getOptionValueSource(field.key);
    const value = opts[field.key];
    const fromEnv = process.env[field.env];
    if (field.kind === "boolean" && source !== "cli" && fromEnv !== undefined) {
      out[field.key] = envBoolean(field, fromEnv);
      continue;
    }
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
    case "list":
      return value.split(",").map((s) => s.trim()).filter(Boolean);
    default:
      return value;
  }
}

function readConfig(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  const parsed = readYamlFile(path, { field: "config", hint: "--config" });
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
