import { describe, expect, it } from "vitest";
import { INPUT_FIELDS, generatorInputSchema, buildChartValues, parseGeneratorInput, renderSecretManifest, validateChartValues, checkPassword } from "../src/generator.ts";
import { ValuesError } from "../src/errors.ts";
import YAML from "yaml";

const valid = { gcsUri: "gs://ml-artifacts/mlflow", dbHost: "10.20.0.3" };

function problemsOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValuesError);
    return (error as ValuesError).problems;
  }
  throw new Error("expected a ValuesError");
}

describe("the input field table", () => {
  it("names exactly the settings the input schema accepts (flags, env vars and config keys cannot drift)", () => {
    const schemaKeys = Object.keys(generatorInputSchema.shape).sort();
    expect(INPUT_FIELDS.map((f) => f.key).sort()).toEqual(schemaKeys);
  });
});

describe("generator input validation", () => {
  it.each([
    ["gcsUri", "s3://bucket/path", /not a valid GCS URI.*gs:\/\/<bucket>/],
    ["gcsUri", "gs://", /not a valid GCS URI/],
    ["gcsUri", "gs://ab", /not a valid GCS URI/],
    ["gcsUri", "gs://UpperCase/x", /not a valid GCS URI/],
    ["gcsUri", "gs://-starts-with-dash", /not a valid GCS URI/],
    ["gcsUri", "gs://googley-bucket", /cannot start with 'goog'/],
    ["gcsUri", "gs://my-g00gle-bucket", /google/],
    ["gcsUri", "gs://192.168.1.10", /IP address/],
    ["gcsUri", `gs://${"a".repeat(64)}`, /3-63 characters/],
    ["gcsUri", "gs://bucket/../etc", /'\.\.'/],
    ["dbHost", "db host", /not a valid host/],
    ["dbHost", "-db.example.com", /not a valid host/],
    ["dbHost", "db_example.com", /not a valid host/],
    ["dbHost", "1:2:3:zz::1", /not a valid host|IPv6/],
    ["dbPort", 0, /from 1 to 65535/],
    ["dbPort", 65536, /from 1 to 65535/],
    ["dbPort", "5432x", /whole number/],
    ["nodePort", 29999, /30000 to 32767/],
    ["nodePort", 32768, /30000 to 32767/],
    ["dbSslmode", "sometimes", /one of: "disable"/],
    ["serviceType", "Ingress", /one of: "NodePort"/],
    ["passwordFrom", "file:/etc/pw", /prompt, stdin, env:<VAR>/],
  ])("%s = %j is rejected with a message naming the field and what is accepted", (field, value, message) => {
    const problems = problemsOf(() => parseGeneratorInput({ ...valid, [field]: value }));
    const problem = problems.find((p) => p.field === field);
    expect(problem, JSON.stringify(problems)).toBeDefined();
    expect(problem?.message).toMatch(message);
    // A password-bearing setting is never echoed: a mistyped --password-from is often the password itself.
    expect(problem?.got).toBe(field === "passwordFrom" ? "<redacted>" : JSON.stringify(value));
    expect(problem?.hint).toMatch(/^--[a-z-]+ \/ MLFLOW_[A-Z_]+$/);
  });

  it("accepts IPv4, IPv6 and DNS names as database hosts", () => {
    for (const dbHost of ["10.20.0.3", "::1", "fd00::5", "db", "pg.prod.example.com", "mlflow-db.default.svc.cluster.local"]) {
      expect(parseGeneratorInput({ ...valid, dbHost }).dbHost).toBe(dbHost);
    }
  });

  it("accepts valid bucket names, with and without a path", () => {
    for (const gcsUri of ["gs://abc", "gs://my_bucket.example.com/a/b", "gs://ml-artifacts/mlflow/"]) {
      expect(parseGeneratorInput({ ...valid, gcsUri }).gcsUri).toBe(gcsUri);
    }
  });

  it("rejects unknown keys in a config file and lists the known ones", () => {
    const problems = problemsOf(() => parseGeneratorInput({ ...valid, dbHots: "x" }));
    expect(problems).toEqual([expect.objectContaining({ field: "dbHots", hint: "config file", message: expect.stringMatching(/known settings: gcsUri, .*dbHost/) })]);
  });

  it("reports a missing required field as required", () => {
    const problems = problemsOf(() => parseGeneratorInput({ dbHost: "db" }));
    expect(problems).toEqual([expect.objectContaining({ field: "gcsUri", message: expect.stringMatching(/is required/) })]);
  });

  it("rejects a nodePort with a ClusterIP Service", () => {
    const problems = problemsOf(() => parseGeneratorInput({ ...valid, serviceType: "ClusterIP", nodePort: 30080 }));
    expect(problems[0]).toMatchObject({ field: "nodePort", message: expect.stringMatching(/ClusterIP/) });
  });
});

describe("passwords", () => {
  it.each([
    ["", /is empty/],
    ["   \t ", /only whitespace/],
    ["secret\n\n", /line break/],
  ])("password %j is rejected without echoing it", (password, message) => {
    const problems = problemsOf(() => checkPassword(password, "--password-from stdin"));
    expect(problems[0]?.message).toMatch(message);
    expect(JSON.stringify(problems)).not.toContain(password.trim() || "\t");
  });

  it("redacts database.password in chart-values errors", () => {
    const problems = problemsOf(() => validateChartValues({ database: { host: "db", password: 12345678 }, artifacts: { destination: "gs://abc/x" } }));
    expect(problems[0]).toMatchObject({ field: "database.password", got: "<redacted>" });
    expect(JSON.stringify(problems)).not.toContain("12345678");
  });
});

describe("building chart values", () => {
  it("references the password through a Secret and never embeds it", () => {
    const { values, secret } = buildChartValues(parseGeneratorInput({ ...valid, passwordFrom: "env:PGPASS", release: "prod" }));
    expect(secret).toEqual({ name: "prod-mlflow-db", key: "password", create: true });
    expect(values.database).toMatchObject({ existingSecret: "prod-mlflow-db", existingSecretKey: "password" });
    expect(values.database).not.toHaveProperty("password");
  });

  it("uses an existing Secret and key when told to", () => {
    const { values, secret } = buildChartValues(parseGeneratorInput({ ...valid, passwordFrom: "secret:cloudsql-creds:pg-pass" }));
    expect(secret).toEqual({ name: "cloudsql-creds", key: "pg-pass", create: false });
    expect(values.database).toMatchObject({ existingSecret: "cloudsql-creds", existingSecretKey: "pg-pass" });
  });

  it("maps artifact mode, service and emulator settings", () => {
    const { values } = buildChartValues(
      parseGeneratorInput({ ...valid, directArtifacts: true, nodePort: 30500, gcsEmulatorHost: "http://127.0.0.1:4443", memoryLimit: "2Gi" }),
    );
    expect(values.artifacts).toEqual({ destination: "gs://ml-artifacts/mlflow", proxied: false });
    expect(values.service).toEqual({ type: "NodePort", nodePort: 30500 });
    expect(values.gcs).toEqual({ auth: "none", emulatorHost: "http://127.0.0.1:4443" });
    expect(values.resources).toEqual({ requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "2Gi" } });
  });

  it("renders a Secret manifest whose data decodes to the password", () => {
    const password = "p@ss:/?#%word";
    const doc = YAML.parse(renderSecretManifest({ name: "mlflow-mlflow-db", key: "password", password, namespace: "ml" }));
    expect(doc).toMatchObject({ kind: "Secret", metadata: { name: "mlflow-mlflow-db", namespace: "ml" } });
    expect(Buffer.from(doc.data.password, "base64").toString("utf8")).toBe(password);
  });
});
