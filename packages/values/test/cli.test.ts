/** Runs the real CLI as a user would: a child process in a scratch directory. */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;

function run(args: string[], opts: { env?: Record<string, string>; input?: string } = {}) {
  const cwd = mkdtempSync(join(tmpdir(), "mlflow-values-"));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MLFLOW_")));
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...env, ...opts.env }, input: opts.input ?? "", encoding: "utf8" });
  return { ...result, cwd, files: readdirSync(cwd) };
}

const required = ["--gcs-uri", "gs://ml-artifacts/mlflow", "--db-host", "10.20.0.3"];
const INSTANCE = "my-proj:europe-west1:mlflow-pg";

describe("mlflow-values CLI", () => {
  it("writes a values file and a 0600 Secret manifest from flags and a password on stdin", () => {
    const r = run([...required, "--secret-out", "secret.yaml", "--password-from", "stdin"], { input: "s3cr3t-pw\n" });
    expect(r.stderr).not.toContain("s3cr3t-pw");
    expect(r.status).toBe(0);
    expect(r.files.sort()).toEqual(["mlflow-values.yaml", "secret.yaml"]);
    const values = readFileSync(join(r.cwd, "mlflow-values.yaml"), "utf8");
    expect(values).not.toContain("s3cr3t-pw");
    expect(YAML.parse(values).database.existingSecret).toBe("mlflow-mlflow-db");
    expect(statSync(join(r.cwd, "secret.yaml")).mode & 0o777).toBe(0o600);
    const secret = YAML.parse(readFileSync(join(r.cwd, "secret.yaml"), "utf8"));
    expect(Buffer.from(secret.data.password, "base64").toString()).toBe("s3cr3t-pw");
  });

  it("reads settings from MLFLOW_* environment variables, and flags win over them", () => {
    const r = run(["--db-port", "6543", "-o", "-"], { env: { MLFLOW_GCS_URI: "gs://env-bucket", MLFLOW_DB_HOST: "db.internal", MLFLOW_DB_PORT: "1111" } });
    expect(r.status).toBe(0);
    const values = YAML.parse(r.stdout);
    expect(values.artifacts.destination).toBe("gs://env-bucket");
    expect(values.database).toMatchObject({ host: "db.internal", port: 6543 });
  });

  it("reads a config file with the lowest precedence", () => {
    const cwd = mkdtempSync(join(tmpdir(), "mlflow-values-config-"));
    const config = join(cwd, "config.yaml");
    writeFileSync(config, "gcsUri: gs://from-config/x\ndbHost: cfg-db\nserviceType: ClusterIP\n");
    const r = run(["-c", config, "--db-host", "flag-db", "-o", "-"]);
    expect(r.status).toBe(0);
    const values = YAML.parse(r.stdout);
    expect(values.database.host).toBe("flag-db");
    expect(values.service.type).toBe("ClusterIP");
  });

  it.each([
    ["a malformed gs:// URI", ["--gcs-uri", "gs:/bucket", "--db-host", "db"], /gcsUri \(--gcs-uri \/ MLFLOW_GCS_URI\): got "gs:\/bucket": is not a valid GCS URI/],
    ["a bucket name GCS rejects", ["--gcs-uri", "gs://google-ml", "--db-host", "db"], /invalid bucket name 'google-ml'/],
    ["a host that is neither IP nor DNS name", ["--gcs-uri", "gs://abc", "--db-host", "db$host"], /dbHost .*got "db\$host": is not a valid host/],
    ["a port out of range", [...required, "--db-port", "99999"], /dbPort .*got 99999: must be from 1 to 65535/],
    ["a nodePort outside 30000-32767", [...required, "--node-port", "8080"], /nodePort .*got 8080: must be from 30000 to 32767/],
    ["an empty password", [...required, "--secret-out", "s.yaml", "--password-from", "env:EMPTY_PW"], /password .*is empty/],
    ["a whitespace password", [...required, "--secret-out", "s.yaml", "--password-from", "stdin"], /password .*only whitespace/],
    ["an unset password variable", [...required, "--secret-out", "s.yaml", "--password-from", "env:NOT_SET_ANYWHERE"], /NOT_SET_ANYWHERE, which is not set/],
    ["IAM auth with a password", [...required, "--cloud-sql-instance", INSTANCE, "--db-auth", "iam", "--password-from", "stdin"], /passwordFrom \(--password-from \/ MLFLOW_PASSWORD_FROM\): got <redacted>: cannot be used with dbAuth iam/],
    ["IAM auth with a Secret to write", [...required, "--cloud-sql-instance", INSTANCE, "--db-auth", "iam", "--secret-out", "s.yaml"], /secretOut \(--secret-out\): cannot be used with --db-auth iam/],
    ["IAM auth without the proxy", [...required, "--db-auth", "iam"], /dbAuth \(--db-auth \/ MLFLOW_DB_AUTH\): got "iam": iam needs cloudSqlInstance/],
    ["a malformed instance connection name", ["--gcs-uri", "gs://abc", "--cloud-sql-instance", "my-proj/mlflow"], /cloudSqlInstance .*got "my-proj\/mlflow": is not a Cloud SQL instance connection name/],
    ["a digest that is not sha256:<64 hex>", [...required, "--image-digest", "sha256:abc"], /imageDigest .*got "sha256:abc": is not an image digest; expected sha256:<64 lowercase hex digits>/],
  ])("rejects %s: exit 2, a clear message, nothing written", (_name, args, message) => {
    const r = run(args, { env: { EMPTY_PW: "" }, input: "  \t \n" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/nothing was written/);
    expect(r.stderr).toMatch(message);
    expect(r.files).toEqual([]);
  });

  it("Cloud SQL with IAM auth: the proxy on, no host, no password and no Secret to create", () => {
    const r = run(["--gcs-uri", "gs://abc", "--db-auth", "iam", "--db-user", "mlflow@my-proj.iam", "--cloud-sql-private-ip", "-o", "-"], { env: { MLFLOW_CLOUD_SQL_INSTANCE: INSTANCE } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const values = YAML.parse(r.stdout);
    expect(values.cloudSqlProxy).toEqual({ enabled: true, instanceConnectionName: INSTANCE, extraArgs: ["--private-ip"] });
    expect(values.database).toMatchObject({ auth: "iam", user: "mlflow@my-proj.iam" });
    expect(values.database).not.toHaveProperty("host");
    expect(values.database).not.toHaveProperty("existingSecret");
  });

  it("check refuses the proxy without an instance connection name, naming the field", () => {
    const cwd = mkdtempSync(join(tmpdir(), "mlflow-values-check-"));
    writeFileSync(join(cwd, "v.yaml"), "cloudSqlProxy:\n  enabled: true\ndatabase:\n  existingSecret: db\nartifacts:\n  destination: gs://abc\n");
    const r = run(["check", join(cwd, "v.yaml")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cloudSqlProxy\.instanceConnectionName: is required when cloudSqlProxy\.enabled is true/);
  });

  it("check refuses autoscaling with minReplicas > maxReplicas, naming the field", () => {
    const cwd = mkdtempSync(join(tmpdir(), "mlflow-values-check-"));
    writeFileSync(join(cwd, "v.yaml"), "autoscaling:\n  enabled: true\n  minReplicas: 5\n  maxReplicas: 3\ndatabase:\n  host: db\n  existingSecret: db\nartifacts:\n  destination: gs://abc\n");
    const r = run(["check", join(cwd, "v.yaml")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/autoscaling\.minReplicas: got 5: must not exceed autoscaling\.maxReplicas \(3\)/);
  });

  it("rejects unknown keys in a config file: exit 2, nothing written", () => {
    const cwd = mkdtempSync(join(tmpdir(), "mlflow-values-config-"));
    writeFileSync(join(cwd, "c.yaml"), "gcsUri: gs://abc\ndbHost: db\ndbPasword: oops\n");
    const r = run(["-c", join(cwd, "c.yaml")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/dbPasword \(config file\): is not a known setting/);
    expect(r.stderr).not.toContain("oops");
    expect(r.files).toEqual([]);
  });

  it("refuses to overwrite an existing values file without --force", () => {
    const first = run([...required]);
    expect(first.status).toBe(0);
    const again = spawnSync(process.execPath, [CLI, ...required], { cwd: first.cwd, encoding: "utf8" });
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already exists; pass --force/);
  });

  it("check validates a values file against the model", () => {
    const cwd = mkdtempSync(join(tmpdir(), "mlflow-values-check-"));
    writeFileSync(join(cwd, "v.yaml"), "database:\n  host: db\n  port: 0\nartifacts:\n  destination: gs://abc\n");
    const r = run(["check", join(cwd, "v.yaml")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/database\.port: got 0: must be from 1 to 65535/);
  });

  it.each([
    ["false", false],
    ["0", false],
    ["no", false],
    ["FALSE", false],
    ["true", true],
    ["1", true],
    ["Yes", true],
  ])("reads MLFLOW_DIRECT_ARTIFACTS=%s as %s", (value, direct) => {
    const r = run([...required, "-o", "-"], { env: { MLFLOW_DIRECT_ARTIFACTS: value } });
    expect(r.status).toBe(0);
    expect(YAML.parse(r.stdout).artifacts.proxied).toBe(!direct);
  });

  it("rejects a boolean variable that is not true/false/1/0/yes/no, naming the variable", () => {
    const r = run([...required, "-o", "-"], { env: { MLFLOW_DIRECT_ARTIFACTS: "nope" } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/directArtifacts \(MLFLOW_DIRECT_ARTIFACTS\): got "nope": must be one of true, false, 1, 0, yes, no/);
    expect(r.stdout).toBe("");
  });

  it("never echoes the value of --password-from, even when it is not a valid source", () => {
    const r = run([...required, "--password-from", "hunter2"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/passwordFrom \(--password-from \/ MLFLOW_PASSWORD_FROM\): got <redacted>: must be prompt, stdin/);
    expect(r.stderr + r.stdout).not.toContain("hunter2");
    expect(r.files).toEqual([]);
  });

  it("check names a missing file: exit 2", () => {
    const r = run(["check", "no-such-values.yaml"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/values-file \(check <values-file>\): got "no-such-values.yaml": does not exist/);
    expect(r.stderr).not.toMatch(/ENOENT|at .*\.ts/);
  });

  it("check names a malformed file and its position without quoting a password line: exit 2", () => {
    const cwd = mkdtempSync(join(tmpdir(), "mlflow-values-check-"));
    writeFileSync(join(cwd, "v.yaml"), "database:\n  host: db\n  password: hunter2: oops\n");
    const r = run(["check", join(cwd, "v.yaml")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/values-file .*v\.yaml": is not valid YAML\/JSON at line 3, column \d+ \(\w+\)/);
    expect(r.stderr).not.toContain("hunter2");
  });

  it("a malformed --config file is named without quoting its lines: exit 2", () => {
    const cwd = mkdtempSync(join(tmpdir(), "mlflow-values-config-"));
    writeFileSync(join(cwd, "c.yaml"), "gcsUri: gs://abc\npasswordFrom: [hunter2\n");
    const r = run(["-c", join(cwd, "c.yaml")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/config \(--config\): got ".*c\.yaml": is not valid YAML\/JSON/);
    expect(r.stderr).not.toContain("hunter2");
  });

  it("-o into a missing directory: exit 2 naming the setting and the directory, nothing written, no password asked", () => {
    const r = run([...required, "-o", "missing/values.yaml", "--secret-out", "s.yaml", "--password-from", "stdin"], { input: "pw-not-read\n" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/out \(-o \/ --out\): got "missing\/values.yaml": cannot be written: directory "missing" does not exist/);
    expect(r.files).toEqual([]);
  });

  it("--out equal to --secret-out: exit 2, nothing written", () => {
    const r = run([...required, "-o", "same.yaml", "--secret-out", "./same.yaml", "--password-from", "stdin"], { input: "s3cr3t-pw\n" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/out \(-o \/ --out\): got "same.yaml": is the same file as secretOut/);
    expect(r.stderr).not.toContain("s3cr3t-pw");
    expect(r.files).toEqual([]);
  });

  it("writes the Secret and values as a pair: when the second rename fails, what --force replaced is restored", () => {
    // The values path is a directory, so renaming the values file onto it fails after the Secret is in place.
    const first = run([...required, "--secret-out", "secret.yaml", "--password-from", "stdin"], { input: "old-pw\n" });
    expect(first.status).toBe(0);
    const before = readFileSync(join(first.cwd, "secret.yaml"), "utf8");
    mkdirSync(join(first.cwd, "values.d"));
    writeFileSync(join(first.cwd, "values.d", "keep"), "");
    const r = spawnSync(process.execPath, [CLI, ...required, "--force", "-o", "values.d", "--secret-out", "secret.yaml", "--password-from", "stdin"], {
      cwd: first.cwd,
      input: "new-pw\n",
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/out \(-o \/ --out\): got "values.d": cannot be written \(E\w+\); no output file was changed/);
    expect(readFileSync(join(first.cwd, "secret.yaml"), "utf8")).toBe(before);
    expect(readdirSync(first.cwd).sort()).toEqual(["mlflow-values.yaml", "secret.yaml", "values.d"]);
  });

  it("writes the Secret and values as a pair: when the second rename fails, a new first file is removed", () => {
    const cwd = mkdtempSync(join(tmpdir(), "mlflow-values-pair-"));
    mkdirSync(join(cwd, "values.d"));
    writeFileSync(join(cwd, "values.d", "keep"), "");
    const r = spawnSync(process.execPath, [CLI, ...required, "--force", "-o", "values.d", "--secret-out", "secret.yaml", "--password-from", "stdin"], {
      cwd,
      input: "new-pw\n",
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(readdirSync(cwd)).toEqual(["values.d"]);
  });
});
